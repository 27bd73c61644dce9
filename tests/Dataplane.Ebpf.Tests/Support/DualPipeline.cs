using System.Text;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;
using Dataplane.Ebpf.Interop;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Tests.Support;

/// <summary>
/// One snapshot, two pipelines: the C# <see cref="PacketPipeline"/> and the BPF program (run with
/// BPF_PROG_TEST_RUN, maps filled by <see cref="MapFiller"/> from the same snapshot). Each frame goes through
/// both, one packet per batch, with the same in-port and the same clock; <see cref="Compare"/> returns null
/// when output bytes, XDP action, drop reason and every verdict field agree, else a report with hex dumps.
/// <see cref="Hook"/> picks the BPF entry point: the XDP program, or the TC one (same pipeline over an skb), whose
/// actions map as transmit → TC_ACT_REDIRECT (XDP_TX and XDP_REDIRECT both become bpf_redirect), to host →
/// TC_ACT_OK, drop → TC_ACT_SHOT.
/// Both start as a fresh worker: empty conntrack and sessionAffinity, the random sequence from its seed.
/// Conntrack expiry: both sides sweep expired connections before each packet (ConntrackTable.Collect with the
/// whole table as budget, ConntrackGc for the map), so an entry is gone at the same instant on both.
/// </summary>
public sealed class DualPipeline : IDisposable
{
    private readonly EbpfDatapath _dp;
    private readonly PacketPipeline _pipeline;
    private readonly HostEgressPipeline _hostEgress;
    private readonly WorkerContext _context;
    private readonly PacketPool _pool = new(8);
    private readonly Batch _batch = new();
    private readonly int _ctFlows;
    private uint _lastSweep;

    public DualPipeline(EbpfDatapath dp, DatapathSnapshot snapshot, int ctFlows, Core.Flows.FlowRing? flows = null)
    {
        _dp = dp;
        _ctFlows = ctFlows;
        if ((dp.Options.Conntrack) != (ctFlows > 0)) throw new ArgumentException("conntrack must be on for both or neither");
        if (ctFlows > 0 && dp.Conntrack.MaxEntries != ctFlows) throw new ArgumentException("conntrack sizes differ");
        // dp_ct is a plain hash map: full, it refuses new connections (155) rather than evicting.
        _context = new WorkerContext(0, flows, ctFlows > 0 ? new ConntrackTable(ctFlows) { EvictsWhenFull = false } : null);
        _pipeline = new PacketPipeline(new SnapshotHolder(snapshot));
        // The same worker (conntrack) for what the node receives and what it sends, as both programs share dp_ct.
        _hostEgress = new HostEgressPipeline(_pipeline.Snapshots);
        // Every port redirects to loopback: in a test run a redirect only needs a devmap entry to exist.
        MapFiller.Fill(dp, snapshot, _ => 1);
        foreach (var k in dp.Conntrack.Keys<CtKeyBpf>()) dp.Conntrack.Delete(k);
        foreach (var k in dp.ConntrackRev.Keys<CtKeyBpf>()) dp.ConntrackRev.Delete(k);
        // A fresh C# worker: no sessionAffinity bindings, the random sequence from its start.
        foreach (var k in dp.LbAffinity.Keys<LbAffinityKey>()) dp.LbAffinity.Delete(k);
        dp.LbRng.Update(0u, MapFiller.RandomSeed);
    }

    /// <summary>The entry point the BPF side runs (set from the fixture's <see cref="DatapathFixture.Hook"/>).</summary>
    public BpfHook Hook { get; init; }

    /// <summary>The BPF side's result of the last <see cref="Compare"/>.</summary>
    public TestRunResult? LastBpf { get; private set; }

    /// <summary>The C# side's metadata and output bytes of the last <see cref="Compare"/>.</summary>
    public (PacketMeta Meta, byte[] Output) LastCsharp { get; private set; }

    public int CsharpConnections => _context.Conntrack?.Count ?? 0;

    public Core.Counters.WorkerCounters CsharpCounters => _context.Counters;

    public void ResetBpfCounters() => EbpfCounters.Reset(_dp);

    /// <summary>The C# pipeline's result for one frame: metadata and the bytes it left.</summary>
    public (PacketMeta Meta, byte[] Output) RunCsharp(ReadOnlySpan<byte> frame, ushort inPort, uint now)
    {
        _context.Conntrack?.Collect(now, _ctFlows);
        _batch.Count = 0;
        if (!_pool.TryLoad(ref _batch[0], frame, inPort)) throw new InvalidOperationException("frame too large for the pool");
        _batch[0].Timestamp = (long)now * 1_000_000_000;
        _batch.Count = 1;
        _pipeline.Process(_batch, _context);
        var meta = _batch[0];
        var output = meta.Bytes.ToArray();
        _pool.Free(_batch[0]);
        return (meta, output);
    }

    /// <summary>
    /// The C# host firewall egress path's result for one frame the node's stack sends out of
    /// <paramref name="port"/>: whether it was judged, its metadata and the bytes it left.
    /// </summary>
    public (bool Judged, PacketMeta Meta, byte[] Output) RunCsharpHostEgress(ReadOnlySpan<byte> frame, ushort port, uint now)
    {
        _context.Conntrack?.Collect(now, _ctFlows);
        _batch.Count = 0;
        if (!_pool.TryLoad(ref _batch[0], frame, port)) throw new InvalidOperationException("frame too large for the pool");
        _batch[0].Timestamp = (long)now * 1_000_000_000;
        _batch.Count = 1;
        bool judged = _hostEgress.Process(_batch, _context) == 1;
        var meta = _batch[0];
        var output = meta.Bytes.ToArray();
        _pool.Free(_batch[0]);
        return (judged, meta, output);
    }

    public TestRunResult RunBpf(ReadOnlySpan<byte> frame, ushort inPort, uint now, BpfHook? hook = null)
    {
        // A sweep at the same instant finds nothing new: everything touched since expires after now.
        if (_ctFlows > 0 && now != _lastSweep) { ConntrackGc.Collect(_dp, now); _lastSweep = now; }
        return _dp.TestRun(frame, inPort, now, hook ?? Hook);
    }

    /// <summary>
    /// Frames neither side ran because the TC entry point cannot be test-run on them
    /// (<see cref="EbpfDatapath.SkbTestRunRefuses"/>: truncated IPv4/IPv6 headers); always 0 for XDP.
    /// </summary>
    public int NotRunOnTc { get; private set; }

    /// <summary>
    /// Null when both pipelines agree on the frame, else what differs plus the frame in hex. Under TC, a frame the
    /// skb test run refuses is run on neither side (so counters and conntrack stay comparable) and counted in
    /// <see cref="NotRunOnTc"/>, which the callers bound.
    /// </summary>
    public string? Compare(byte[] frame, ushort inPort, uint now)
    {
        if (Hook == BpfHook.Tc && EbpfDatapath.SkbTestRunRefuses(frame))
        {
            NotRunOnTc++;
            return null;
        }
        var (m, csOut) = RunCsharp(frame, inPort, now);
        var bpf = RunBpf(frame, inPort, now);
        LastBpf = bpf;
        LastCsharp = (m, csOut);
        var diffs = new List<string>();
        void Diff<T>(string what, T cs, T b) { if (!EqualityComparer<T>.Default.Equals(cs, b)) diffs.Add($"{what}: C# {cs}, BPF {b}"); }
        if (Hook == BpfHook.Xdp)
            Diff("action", m.Verdict switch
            {
                PacketVerdict.Tx => m.OutPort == inPort ? XdpAction.Tx : XdpAction.Redirect,
                PacketVerdict.Local => XdpAction.Pass,
                _ => XdpAction.Drop,
            }, bpf.Action);
        else
            Diff("TC action", m.Verdict switch
            {
                PacketVerdict.Tx => TcAction.Redirect,
                PacketVerdict.Local => TcAction.Ok,
                _ => TcAction.Shot,
            }, bpf.TcAction);
        CompareFields(m, csOut, bpf, diffs);
        return Report(frame, inPort, now, diffs);
    }

    /// <summary>
    /// Null when the C# host firewall egress path (<see cref="HostEgressPipeline"/>) and the BPF egress hook
    /// (dp_host_egress) agree on a frame the node's stack sends out of <paramref name="port"/>: both judge it or
    /// neither does (then TC_ACT_OK, bytes untouched, nothing counted); a judged frame passes (TC_ACT_OK) or drops
    /// (TC_ACT_SHOT) with every verdict field equal. A frame the skb test run refuses is counted in
    /// <see cref="NotRunOnTc"/>.
    /// </summary>
    public string? CompareHostEgress(byte[] frame, ushort port, uint now)
    {
        if (EbpfDatapath.SkbTestRunRefuses(frame))
        {
            NotRunOnTc++;
            return null;
        }
        var (judged, m, csOut) = RunCsharpHostEgress(frame, port, now);
        var bpf = RunBpf(frame, port, now, BpfHook.HostEgress);
        LastBpf = bpf;
        LastCsharp = (m, csOut);
        var diffs = new List<string>();
        if (judged != bpf.Judged) diffs.Add($"judged: C# {judged}, BPF {bpf.Judged}");
        var action = !judged || m.Verdict == PacketVerdict.Tx ? TcAction.Ok : TcAction.Shot;
        if (action != bpf.TcAction) diffs.Add($"TC action: C# {action}, BPF {bpf.TcAction}");
        if (judged && bpf.Judged) CompareFields(m, csOut, bpf, diffs);
        else if (!csOut.AsSpan().SequenceEqual(bpf.Output))
            diffs.Add($"output bytes differ:\n  C#  {Convert.ToHexString(csOut)}\n  BPF {Convert.ToHexString(bpf.Output)}");
        return Report(frame, port, now, diffs);
    }

    private static void CompareFields(PacketMeta m, byte[] csOut, TestRunResult bpf, List<string> diffs)
    {
        var v = bpf.Verdict;
        void Diff<T>(string what, T cs, T b) { if (!EqualityComparer<T>.Default.Equals(cs, b)) diffs.Add($"{what}: C# {cs}, BPF {b}"); }
        Diff("verdict", (byte)m.Verdict, v.Verdict);
        Diff("drop reason", (byte)m.DropReason, v.DropReason);
        if (m.Verdict == PacketVerdict.Tx) Diff("out port", m.OutPort, v.OutPort);
        Diff("src identity", m.SrcIdentity, v.SrcIdentity);
        Diff("dst identity", m.DstIdentity, v.DstIdentity);
        Diff("src endpoint", m.SrcEndpoint, v.SrcEndpoint);
        Diff("dst endpoint", m.DstEndpoint, v.DstEndpoint);
        Diff("policy rule", m.PolicyRule, v.PolicyRule);
        Diff("ingress rule", m.IngressPolicyRule, v.IngressRule);
        Diff("ct state", (byte)m.CtState, v.CtState);
        Diff("direction", (byte)m.Direction, v.Direction);
        Diff("flags", (ushort)m.Flags, v.Flags);
        Diff("length", (uint)m.Length, v.Length);
        if (!csOut.AsSpan().SequenceEqual(bpf.Output))
            diffs.Add($"output bytes differ:\n  C#  {Convert.ToHexString(csOut)}\n  BPF {Convert.ToHexString(bpf.Output)}");
    }

    private static string? Report(byte[] frame, ushort inPort, uint now, List<string> diffs)
    {
        if (diffs.Count == 0) return null;
        var sb = new StringBuilder();
        sb.AppendLine($"in-port {inPort}, t={now}, {frame.Length} bytes: {Convert.ToHexString(frame)}");
        foreach (var d in diffs) sb.AppendLine("  " + d);
        return sb.ToString();
    }

    public void Dispose()
    {
        _pool.Dispose();
        _batch.Dispose();
        _context.Conntrack?.Dispose();
    }
}
