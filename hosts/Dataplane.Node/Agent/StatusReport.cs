using Dataplane.Core.Drops;
using Dataplane.Core.Snapshot;
using Dataplane.Node.Api;
using Dataplane.Node.Run;

namespace Dataplane.Node.Agent;

/// <summary>Builds the API's status answer from the running agent (counters may be a poll stale).</summary>
internal static class StatusReport
{
    public static AgentStatus Build(NodeAgent agent, PortTable ports, Lock apply, ConfigErrorStatus? lastError, DateTimeOffset applied)
    {
        var snapshot = agent.Snapshot;
        var registered = agent.Endpoints.All;
        var portList = new List<PortStatus>();
        lock (apply)
        {
            foreach (var p in snapshot.Ports)
            {
                if (agent.Offload is { } ebpf)
                {
                    // The program counts per verdict, not per port: a port shows whether it runs the program.
                    bool on = ebpf.Attachments.TryGetValue(p.Name, out var a) && a.Error is null;
                    portList.Add(new PortStatus(p.Id, p.Name, p.Kind == PortKind.Interface ? "interface" : "endpoint", on, 0, 0, 0));
                    continue;
                }
                ulong rx = 0, tx = 0, txDropped = 0;
                var queues = ports.QueuesOf(p.Name);
                foreach (var q in queues ?? [])
                {
                    rx += q.Stats.RxPackets;
                    tx += q.Stats.TxPackets;
                    txDropped += q.Stats.TxDropped;
                }
                portList.Add(new PortStatus(p.Id, p.Name, p.Kind == PortKind.Interface ? "interface" : "endpoint", queues is not null, rx, tx, txDropped));
            }
        }
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
            bool cni = registered.Any(r => r.Namespace == e.Namespace && r.Name == e.Name);
            endpoints.Add(new EndpointStatus(e.Namespace, e.Name, port.Name, FormatMac(e.Mac), ips, e.Identity, cni ? "cni" : "config"));
        }

        var c = CounterReport.Sum(agent, out _);
        var (ctEntries, ctCapacity) = agent.ConntrackOccupancy();
        var drops = new Dictionary<string, ulong>();
        for (int r = 0; r < c.Drops.Length; r++)
            if (c.Drops[r] != 0) drops[$"{DropReasonNames.Describe((DropReason)r)} ({r})"] = c.Drops[r];

        var o = agent.Options;
        string mode = o.Backend switch
        {
            Backend.AfXdp => $"af_xdp, xdp-mode {o.XdpMode.ToString().ToLowerInvariant()}",
            Backend.Dpdk => "dpdk, rte_eth_fp_ops bursts",
            Backend.Ebpf => agent.Offload!.Mode,
            _ => "af_packet, tpacket_v3",
        };
        return new AgentStatus(snapshot.NodeName, Runner.Name(o.Backend), mode, agent.Lanes.Count, snapshot.Generation, applied, lastError,
            portList, endpoints, ctEntries, ctCapacity, c.RxPackets, c.TxPackets, c.LocalPackets, c.TotalDrops, drops,
            agent.FlowsFile, agent.MetricsUrl, agent.MeshStatus());
    }

    public static string FormatMac(ulong mac) =>
        string.Join(':', Enumerable.Range(0, 6).Select(i => ((mac >> (40 - 8 * i)) & 0xff).ToString("x2")));
}
