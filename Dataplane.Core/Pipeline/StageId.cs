namespace Dataplane.Core.Pipeline;

/// <summary>Stage numbers, used to index per-stage counters and to record which stage decided a verdict.</summary>
public enum StageId : byte
{
    Parse = 0,
    Neighbor = 1,
    Endpoint = 2,
    Route = 3,
    Identity = 4,
    Policy = 5,
    Conntrack = 6,
    ConntrackCommit = 7,
    Service = 8,
    EgressGateway = 9,
    Masquerade = 10,
    OverlayDecap = 11,
    OverlayEncap = 12,
    NeighborResolve = 13,
}
