using System.Runtime.CompilerServices;
using Dataplane.Core.Nat;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.EgressGateway;

/// <summary>
/// One gateway node of a policy. <see cref="NextHop"/> indexes the snapshot's next hops: a Tunnel next hop to
/// <see cref="NodeIp"/> used to steer traffic there. <see cref="EgressIp"/> is the source address traffic leaves
/// the gateway with (0: the address of the interface the route picks).
/// </summary>
public readonly record struct Gateway(string Node, UInt128 NodeIp, UInt128 EgressIp, uint NextHop, uint Seed, bool Local, bool Live);

/// <summary>A compiled CiliumEgressGatewayPolicy: destinations, exclusions and its gateways (live or not).</summary>
public sealed class EgressPolicy(string name, CidrList destinations, CidrList excluded, Gateway[] gateways)
{
    public string Name { get; } = name;
    public CidrList Destinations { get; } = destinations;
    public CidrList Excluded { get; } = excluded;
    public Gateway[] Gateways { get; } = gateways;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Matches(UInt128 dst, byte family) => Destinations.Contains(dst, family) && !Excluded.Contains(dst, family);

    /// <summary>
    /// The live gateway a flow goes through: highest-random-weight (rendezvous) hashing of the flow hash with
    /// each gateway's seed, so every node picks the same gateway for a flow, and when a gateway goes down only
    /// its own flows move (each to the gateway that scored next for it). -1 when no gateway is live.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Pick(uint flowHash)
    {
        int best = -1;
        uint bestScore = 0;
        var g = Gateways;
        for (int i = 0; i < g.Length; i++)
        {
            if (!g[i].Live) continue;
            uint score = FlowHash.Finish(FlowHash.Mix(flowHash, g[i].Seed));
            if (best < 0 || score > bestScore) { best = i; bestScore = score; }
        }
        return best;
    }

    /// <summary>This node's gateway entry when it is a live gateway of the policy, else -1.</summary>
    public int LocalLive()
    {
        for (int i = 0; i < Gateways.Length; i++)
            if (Gateways[i].Local && Gateways[i].Live) return i;
        return -1;
    }
}

/// <summary>
/// Every egress gateway policy of the cluster, compiled for this node: which source pods (by address, any node)
/// each policy selects, as a bit set per address, and the policies themselves (at most 64).
/// </summary>
public sealed class EgressGatewayState(AddressMap sources, EgressPolicy[] policies)
{
    public static EgressGatewayState Empty { get; } = new(AddressMap.Empty, []);

    /// <summary>Source address → bit i set when policy i selects that pod.</summary>
    public AddressMap Sources { get; } = sources;
    public EgressPolicy[] Policies { get; } = policies;
    public bool Any => Policies.Length > 0;
}
