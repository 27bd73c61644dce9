using Dataplane.Host.Hubble;
using System.Text.Json;
using Dataplane.Control.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Control.Compiler;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Pcap;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;

namespace Dataplane.Node.Replay;

/// <summary>What a replay did, for the summary line and for tests.</summary>
public sealed record ReplayResult(long Packets, long Transmitted, long Local, long Dropped, IReadOnlyDictionary<string, long> DropsByReason,
    Dataplane.Core.Counters.WorkerCounters Counters);

/// <summary>
/// Offline run of the real pipeline: every packet of a capture is received on the port it would have arrived
/// on, in batches, exactly as a worker would; what the pipeline transmits is written to a pcap and each input
/// packet's verdict to a Hubble-style JSON line. Deterministic: timestamps come from the capture, ports and
/// endpoint ids from the config, so the same inputs give byte-identical outputs.
/// </summary>
public static class Replayer
{
    /// <summary>Connections a replay can track; more new connections than this drop with 155, as live.</summary>
    public const int ReplayConntrackFlows = 1 << 18;

    /// <summary>Ethernet, the only link type the pipeline receives.</summary>
    private const int LinkTypeEthernet = 1;

    public static ReplayResult Run(string configDir, string inPcap, string outPcap, string? flowsPath, TextWriter log)
    {
        // Config first and whole: a bad config must fail before any output file is touched.
        var model = ConfigLoader.LoadDirectory(configDir);
        var snapshot = SnapshotCompiler.Compile(model);
        using var reader = PcapReader.Open(inPcap);

        // 16 KiB frames: jumbo frames fit, with headroom for encapsulation.
        using var pool = new PacketPool(Batch.MaxSize, 16384, PacketPool.DefaultHeadroom);
        using var batch = new Batch();
        var ring = new FlowRing(Batch.MaxSize * 2);
        // Connections are tracked as on a live node, so replies of allowed connections pass policy.
        using var conntrack = new ConntrackTable(ReplayConntrackFlows);
        var ctx = new WorkerContext(0, ring, conntrack);
        var pipeline = new PacketPipeline(new SnapshotHolder(snapshot));
        var ports = Ports.From(snapshot);

        using var outStream = File.Create(outPcap);
        using var writer = new PcapWriter(outStream);
        using var flowStream = flowsPath is null ? null : File.Create(flowsPath);
        using var json = flowStream is null ? null : new StreamWriter(flowStream, new System.Text.UTF8Encoding(false));
        var records = new FlowRecords("");

        long packets = 0, tx = 0, local = 0, dropped = 0;
        var drops = new SortedDictionary<string, long>(StringComparer.Ordinal);
        while (true)
        {
            batch.Count = 0;
            while (batch.Count < Batch.MaxSize && reader.TryReadNext(out var rec))
            {
                packets++;
                if (rec.LinkType != LinkTypeEthernet)
                    throw new InvalidDataException($"{inPcap}: packet {packets} has link type {rec.LinkType}; only Ethernet (1) is supported");
                ref PacketMeta m = ref batch[batch.Count];
                if (!pool.TryLoad(ref m, rec.Data, InPortFor(rec.Data, ports)))
                    throw new InvalidDataException($"{inPcap}: packet {packets} is {rec.Data.Length} bytes, larger than a buffer");
                m.Timestamp = rec.TimestampNanos;
                batch.Count++;
            }
            if (batch.Count == 0) break;

            pipeline.Process(batch, ctx);
            for (int i = 0; i < batch.Count; i++)
            {
                ref PacketMeta m = ref batch[i];
                switch (m.Verdict)
                {
                    case PacketVerdict.Tx: tx++; writer.Write(m.Timestamp, m.Bytes); break;
                    case PacketVerdict.Local: local++; break;
                    default:
                        dropped++;
                        var name = Core.Drops.DropReasonNames.Describe(m.DropReason);
                        drops[name] = drops.GetValueOrDefault(name) + 1;
                        break;
                }
                pool.Free(m);
            }
            while (ring.TryRead(out var ev))
            {
                if (json is null) continue;
                json.Write(FlowJson.Line(records.Response(ev, snapshot)));
                json.Write('\n');
            }
        }
        if (ring.Lost != 0) throw new InvalidOperationException("flow ring overflowed during replay");
        log.WriteLine($"replay: {packets} packets in, {tx} transmitted, {local} to host, {dropped} dropped");
        foreach (var (reason, count) in drops) log.WriteLine($"  drop {reason}: {count}");
        return new ReplayResult(packets, tx, local, dropped, drops, ctx.Counters);
    }

    /// <summary>
    /// Port a captured frame arrived on: a local pod's MAC as source means the pod's port (so a pod spoofing
    /// another address is still caught), then a local pod's address as source; otherwise the node interface
    /// whose MAC the frame is addressed to; otherwise the first interface (the uplink).
    /// </summary>
    private static unsafe ushort InPortFor(byte[] frame, Ports ports)
    {
        if (frame.Length < 12) return 0;
        var m = new PacketMeta();
        fixed (byte* p = frame)
        {
            if (ports.PodByMac.TryGetValue(Addr.ReadMac(p + 6), out var byMac)) return byMac;
            m.Data = p; m.Length = (ushort)Math.Min(frame.Length, ushort.MaxValue);
            PacketParser.Parse(ref m, 0);
            var (pod4, pod6, ifPorts) = (ports.Pod4, ports.Pod6, ports.InterfaceByMac);
            if (m.IpVersion == 4 && pod4.TryGetValue(Addr.Src4(m), out var port4)) return port4;
            if (m.IpVersion == 6 && pod6.TryGetValue(Addr.Src6(m), out var port6)) return port6;
            if (frame.Length >= 6 && ifPorts.TryGetValue(Addr.ReadMac(p), out var ifPort)) return ifPort;
        }
        return 0;
    }

    private sealed record Ports(Dictionary<ulong, ushort> PodByMac, Dictionary<uint, ushort> Pod4,
        Dictionary<UInt128, ushort> Pod6, Dictionary<ulong, ushort> InterfaceByMac)
    {
        public static Ports From(DatapathSnapshot s)
        {
            var ports = new Ports([], [], [], []);
            foreach (var ep in s.Endpoints)
            {
                if (ep is null) continue;
                ports.PodByMac[ep.Mac] = ep.Port;
                if (ep.HasIpv4) ports.Pod4[ep.Ipv4] = ep.Port;
                if (ep.HasIpv6) ports.Pod6[ep.Ipv6] = ep.Port;
            }
            foreach (var p in s.Ports)
                if (p.Kind == PortKind.Interface) ports.InterfaceByMac.TryAdd(p.Mac, p.Id);
            return ports;
        }
    }
}
