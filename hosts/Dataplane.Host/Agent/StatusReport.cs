using Dataplane.Core.Drops;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;

namespace Dataplane.Host.Agent;

/// <summary>Builds the API's status answer from the running agent (counters may be a poll stale).</summary>
public static class StatusReport
{
    internal static AgentStatus Build(HostAgent agent, List<PortStatus> ports)
    {
        var snapshot = agent.Snapshot;
        var profile = agent.Profile;
        var endpoints = new List<EndpointStatus>();
        foreach (var e in snapshot.Endpoints)
        {
            if (e is null) continue;
            var port = snapshot.Ports[e.Port];
            var ips = new List<string>();
            if (e.HasIpv4) ips.Add(new System.Net.IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(e.Ipv4)).ToString());
            if (e.HasIpv6)
            {
                var bytes = new byte[16];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, e.Ipv6);
                ips.Add(new System.Net.IPAddress(bytes).ToString());
            }
            endpoints.Add(new EndpointStatus(e.Namespace, e.Name, port.Name, FormatMac(e.Mac), ips, e.Identity, profile.EndpointSource(e.Namespace, e.Name)));
        }

        var c = CounterReport.Sum(agent, out _);
        var backend = agent.PacketIo;
        var (ctEntries, ctCapacity) = backend.Conntrack;
        var drops = new Dictionary<string, ulong>();
        for (int r = 0; r < c.Drops.Length; r++)
            if (c.Drops[r] != 0) drops[$"{DropReasonNames.Describe((DropReason)r)} ({r})"] = c.Drops[r];

        return new AgentStatus(snapshot.NodeName, backend.Name, backend.Mode, backend.Workers, snapshot.Generation, agent.LastApplied, agent.LastError,
            ports, endpoints, ctEntries, ctCapacity, c.RxPackets, c.TxPackets, c.LocalPackets, c.TotalDrops, drops,
            agent.FlowsFile, agent.MetricsUrl, agent.MeshStatus(), [.. agent.Files.Skipped.Select(d => d.ToString())],
            [.. (backend.Resolver?.List() ?? []).Select(n => new NeighborStatus(n.Port, n.Key.Ip.ToString(), FormatMac(n.Mac),
                n.State.ToString().ToLowerInvariant(), n.AgeMillis, n.Queued))],
            agent.Bgp?.Status(), LoadBalancerIps(agent.Files), agent.Flows?.Status(), backend.HostFirewall(snapshot),
            agent.Options.HubbleSocket is { Length: > 0 } hs ? hs : null,
            agent.Encryption?.Status(), agent.Flows?.Ipfix?.Status());
    }

    private static LoadBalancerIpStatus? LoadBalancerIps(Dataplane.Control.Config.ConfigModel m) =>
        m.LbIpPools.IsEmpty ? null : new(
            [.. m.LbIpAllocations.Select(a => new LoadBalancerIpAllocation($"{a.Namespace}/{a.Service}", a.Ip.ToString(), a.Pool))],
            [.. m.LbIpPending.Select(p => new LoadBalancerIpPendingStatus($"{p.Namespace}/{p.Service}", p.Reason))]);

    /// <summary>aa:bb:cc:dd:ee:ff from the 48-bit value the snapshot keeps.</summary>
    public static string FormatMac(ulong mac) =>
        string.Join(':', Enumerable.Range(0, 6).Select(i => ((mac >> (40 - 8 * i)) & 0xff).ToString("x2")));
}
