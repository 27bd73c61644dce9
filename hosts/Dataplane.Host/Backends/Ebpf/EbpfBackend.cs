using Dataplane.Control.Config;
using Dataplane.Core.Counters;
using Dataplane.Core.Flows;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;
using Dataplane.Ebpf.Flows;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Linux.AfXdp;
using Dataplane.Host.Run;

namespace Dataplane.Host.Backends.Ebpf;

/// <summary>
/// `run --backend ebpf`: the XDP program (or with --ebpf-hook tc the TC one) forwards, the agent only keeps it fed. Where the C# backends have worker
/// lanes, this has one object: it loads the program (maps pinned under --bpf-pin-dir and reused), writes the maps
/// from every snapshot the agent swaps in (refused as a whole — unsupported feature, full map — before anything is
/// written, so the running config keeps forwarding), attaches to the node's and pods' interfaces as they come
/// and go, expires conntrack entries (the program never does, as in Cilium), moves the ring buffer's flow events
/// into a FlowRing the agent's FlowExporter drains like a worker's, and reads the per-CPU counters into the
/// same WorkerCounters the metrics and status are built from.
/// </summary>
internal sealed class EbpfBackend : IPacketBackend
{
    /// <summary>How often expired connections are deleted (Cilium's CT GC interval starts at 5 min and adapts; ours is fixed and short, the map being smaller).</summary>
    private static readonly TimeSpan GcInterval = TimeSpan.FromSeconds(10);
    private const int FlowRingSize = 1 << 16, FlowPollMs = 50;

    public const string Id = "ebpf";

    private readonly RunOptions _options;
    private readonly BackendOptions _io;
    private readonly TextWriter _log;
    private readonly EbpfDatapath _dp;
    private readonly EbpfAttachments _attachments;
    private readonly EbpfFlowReader? _reader;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _housekeeping;
    private DatapathSnapshot? _filled;
    private readonly Lock _countLock = new();
    private long _ctEntries, _countedAt = long.MinValue / 2;
    private ulong _gcRemoved;

    private EbpfBackend(RunOptions options, TextWriter log, EbpfDatapath dp)
    {
        _options = options;
        _io = options.PacketIo;
        _log = log;
        _dp = dp;
        _attachments = new EbpfAttachments(_io.XdpMode, _io.EbpfHook, log, _io.BpfPinDir.Length > 0 ? _io.BpfPinDir : null);
        if (options.FlowEvents)
        {
            _reader = new EbpfFlowReader(dp);
            Flows = new FlowRing(FlowRingSize);
        }
    }

    /// <summary>Loads the program, fills it from <paramref name="first"/> and attaches it. Throws ConfigException when the config cannot be offloaded.</summary>
    public static EbpfBackend Start(RunOptions options, DatapathSnapshot first, TextWriter log)
    {
        string? pins = options.PacketIo.BpfPinDir.Length > 0 ? options.PacketIo.BpfPinDir : null;
        if (pins is not null && BpfFs.Ensure(pins) is { Length: > 0 } mounted) log.WriteLine($"ebpf: {mounted}");
        var dp = EbpfDatapath.Load(new EbpfOptions
        {
            PinDirectory = pins,
            ConntrackMaxEntries = (uint)options.ConntrackMaxFlows,
            FlowEvents = options.FlowEvents,
            TcProgram = options.PacketIo.EbpfHook == BpfHook.Tc,
            // The host firewall's egress hook, on every interface with either hook (cheap without host policies).
            HostEgressProgram = true,
        });
        var backend = new EbpfBackend(options, log, dp);
        try
        {
            int reused = ConntrackGc.Count(dp);
            log.WriteLine($"ebpf: program loaded{(pins is null ? "" : $", maps pinned under {pins}")}; {reused} connection(s) in the conntrack map");
            backend.Apply(first);
            backend._housekeeping = new Thread(backend.Housekeeping) { Name = "dp-ebpf", IsBackground = true };
            backend._housekeeping.Start();
            return backend;
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>The ring-buffer events as FlowEvents, for the FlowExporter (null without --flows-file).</summary>
    public FlowRing? Flows { get; }

    public string Name => Id;
    public int Workers => 0;
    public IReadOnlyList<FlowRing> FlowRings => Flows is null ? [] : [Flows];
    public Exception? Failure => null;

    /// <summary>The program takes a snapshot first: if it cannot, nothing of the change is applied anywhere.</summary>
    public void Prepare(DatapathSnapshot next) => Apply(next);

    /// <summary>Attached and filled by <see cref="Prepare"/> and <see cref="Poll"/>: no ports to hand over.</summary>
    public void Adopt(DatapathSnapshot snapshot) { }

    /// <summary>An interface came or went: the port → ifindex maps are rewritten and the program attached to it.</summary>
    public void Poll(DatapathSnapshot current)
    {
        if (InterfacesChanged(current)) Apply(current);
    }

    /// <summary>Loaded, filled and attached by <see cref="Start(RunOptions, DatapathSnapshot, TextWriter)"/>: forwarding already runs.</summary>
    public void Start(DatapathSnapshot first, CancellationTokenSource stop) { }

    public string DescribeForwarding() => $"{Attachments.Count} port(s), backend {Id}, the eBPF program forwards, no worker threads";

    /// <summary>Stops draining and collecting, so the ring buffer's last events reach the exporter before it closes.</summary>
    public bool Stop()
    {
        StopHousekeeping();
        return true;
    }

    public ulong AddCounters(WorkerCounters c)
    {
        AddTo(c);
        return 0;
    }

    /// <summary>The program counts per verdict, not per port: a port shows whether it runs the program.</summary>
    public List<PortStatus> PortStatus(DatapathSnapshot snapshot)
    {
        var list = new List<PortStatus>();
        foreach (var p in snapshot.Ports)
        {
            bool on = Attachments.TryGetValue(p.Name, out var a) && a.Error is null;
            list.Add(new PortStatus(p.Id, p.Name, p.Kind == PortKind.Interface ? "interface" : "endpoint", on, 0, 0, 0));
        }
        return list;
    }

    public void PrintCounters(TextWriter log, string what)
    {
        var (entries, capacity) = Conntrack;
        log.WriteLine($"{what}:   {Mode}; flow events lost in the ring buffer {EventsLost}; conntrack {entries}/{capacity}, expired {GcRemoved}; {ProgramRunTime}");
    }

    public void PrintExit(TextWriter log) { }

    /// <summary>
    /// Makes <paramref name="next"/> the program's configuration and attaches to its present interfaces. Throws
    /// <see cref="ConfigException"/> when the program cannot run it; the maps then still hold the previous one.
    /// Caller serialises (the agent's apply lock).
    /// </summary>
    public void Apply(DatapathSnapshot next)
    {
        try
        {
            MapFiller.Fill(_dp, next, EbpfAttachments.IfIndexOf);
        }
        catch (Exception e) when (e is EbpfUnsupportedException or EbpfMapException)
        {
            // The filler checks content against features and capacities before its first write; a kernel refusal
            // after that (e.g. an LPM trie out of memory) may have written part: write the running snapshot back.
            if (e is EbpfMapException && _filled is not null) Restore(_filled);
            throw new ConfigException(new SourceLocation(_options.ConfigDir, 0, 0),
                $"the eBPF datapath cannot run this configuration ({e.Message})");
        }
        _filled = next;
        _attachments.Sync(_dp, next);
    }

    private void Restore(DatapathSnapshot previous)
    {
        try { MapFiller.Fill(_dp, previous, EbpfAttachments.IfIndexOf); }
        catch (Exception e) when (e is EbpfUnsupportedException or EbpfMapException)
        {
            _log.WriteLine($"ebpf: restoring the running configuration failed too: {e.Message}");
        }
    }

    /// <summary>An interface of <paramref name="s"/> appeared, vanished or was recreated: <see cref="Apply"/> it again (ifindex → port).</summary>
    public bool InterfacesChanged(DatapathSnapshot s) => _attachments.Changed(s);

    public IReadOnlyDictionary<string, EbpfAttachments.Attachment> Attachments => _attachments.Current;

    /// <summary>Backend mode for the status: how many interfaces run the program natively and generically.</summary>
    public string Mode
    {
        get
        {
            var a = _attachments.Current.Values;
            int failed = a.Count(x => x.Error is not null);
            string refused = failed > 0 ? $", {failed} refused" : "";
            if (_attachments.Hook == BpfHook.Tc)
                return $"ebpf, tc (tcx ingress) on {_attachments.Current.Count - failed} interface(s){refused}";
            int native = a.Count(x => x.Error is null && x.Mode == XdpAttachMode.Native);
            int generic = a.Count(x => x.Error is null && x.Mode == XdpAttachMode.Generic);
            return $"ebpf, xdp native on {native}, generic on {generic} interface(s){refused}";
        }
    }

    /// <summary>
    /// Host policies are enforced in the kernel: ingress by the receiving program (XDP or tc ingress) before the
    /// node's stack sees a packet, egress by the tcx egress hook on what the stack sends; an interface where the
    /// kernel refused either is named.
    /// </summary>
    public string? HostFirewall(DatapathSnapshot snapshot)
    {
        if (!snapshot.HostFirewall) return null;
        var a = _attachments.Current;
        int ingress = a.Values.Count(x => x.Error is null), egress = a.Values.Count(x => x.Egress is not null);
        var gaps = a.Where(x => x.Value.Error is not null || x.Value.Egress is null)
            .Select(x => $"{x.Key} ({(x.Value.Error is not null ? "ingress" : "")}{(x.Value.Error is not null && x.Value.Egress is null ? ", " : "")}{(x.Value.Egress is null ? "egress" : "")})").ToList();
        string hook = _attachments.Hook == BpfHook.Tc ? "tc ingress" : "XDP";
        return $"host policies enforced in the kernel: ingress ({hook}) on {ingress}, egress (tcx egress, the node's own traffic) on {egress} interface(s)"
            + (gaps.Count > 0 ? $"; NOT enforced on {string.Join(", ", gaps)} (the kernel refused the program, see the log)" : "");
    }

    /// <summary>
    /// Connections in the map and its capacity. Counting walks the map key by key (a syscall each), so a count is
    /// reused for a second: status and scrapes ask far less often than that.
    /// </summary>
    public (long Entries, long Capacity) Conntrack
    {
        get
        {
            lock (_countLock)
            {
                if (Environment.TickCount64 - _countedAt >= 1000)
                {
                    _ctEntries = ConntrackGc.Count(_dp);
                    _countedAt = Environment.TickCount64;
                }
                return (_ctEntries, _dp.Conntrack.MaxEntries);
            }
        }
    }

    /// <summary>
    /// Adds the per-CPU counters to <paramref name="c"/>. Drops keep the direction the program decided them in
    /// (policy: ingress or egress; others unknown); forwarded packets go under direction 0 (UNKNOWN).
    /// </summary>
    public void AddTo(WorkerCounters c)
    {
        var e = EbpfCounters.Read(_dp);
        c.RxPackets += e.RxPackets; c.RxBytes += e.RxBytes;
        c.TxPackets += e.TxPackets; c.TxBytes += e.TxBytes;
        c.LocalPackets += e.LocalPackets;
        c.ForwardPackets[0] += e.TxPackets; c.ForwardBytes[0] += e.TxBytes;
        for (int d = 0; d < WorkerCounters.Directions; d++) c.AuditedPackets[d] += e.AuditedPackets[d];
        foreach (var (reason, (packets, bytes)) in e.Drops)
        {
            c.Drops[(int)reason] += packets; c.DropBytes[(int)reason] += bytes;
        }
        foreach (var ((direction, reason), (packets, bytes)) in e.DirectionalDrops)
        {
            int slot = (int)direction * 256 + (int)reason;
            c.DirectionalDrops[slot] += packets; c.DirectionalDropBytes[slot] += bytes;
        }
    }

    /// <summary>Flow events the program could not put in its ring buffer (full: nobody drained it fast enough).</summary>
    public ulong EventsLost => EbpfCounters.Read(_dp).EventsLost;

    public ulong GcRemoved => Interlocked.Read(ref _gcRemoved);

    /// <summary>The kernel's run count and time of the program (kernel.bpf_stats_enabled=1), as text.</summary>
    public string ProgramRunTime => ProgramStats.Describe(_attachments.Hook == BpfHook.Tc ? _dp.TcProgramFd : _dp.ProgramFd);

    /// <summary>One thread: drains the ring buffer every <see cref="FlowPollMs"/> at most, and runs the conntrack GC.</summary>
    private void Housekeeping()
    {
        var nextGc = DateTime.UtcNow;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow >= nextGc)
                {
                    uint now = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                    Interlocked.Add(ref _gcRemoved, (ulong)ConntrackGc.Collect(_dp, now));
                    nextGc = DateTime.UtcNow + GcInterval;
                }
                if (_reader is not null) _reader.PollInto(Flows!, FlowPollMs);
                else _stop.Token.WaitHandle.WaitOne(FlowPollMs);
            }
            catch (EbpfMapException e)
            {
                _log.WriteLine($"ebpf: housekeeping: {e.Message}");
                _stop.Token.WaitHandle.WaitOne(1000);
            }
        }
        // What the program published before the stop still goes to the exporter.
        if (_reader is not null) _reader.PollInto(Flows!, 0);
    }

    /// <summary>Stops draining and collecting; the agent calls it before its FlowExporter writes its last events.</summary>
    public void StopHousekeeping()
    {
        _stop.Cancel();
        _housekeeping?.Join();
    }

    /// <summary>
    /// Stops the housekeeping thread. By default the program stays attached and the maps pinned, so forwarding
    /// (and every tracked connection) continues while the agent is down, as Cilium's datapath does across agent
    /// restarts; --bpf-detach-on-exit removes the program from the interfaces and the pins instead.
    /// </summary>
    public void Dispose()
    {
        StopHousekeeping();
        _reader?.Dispose();
        if (_io.BpfDetachOnExit)
        {
            _attachments.DetachAll();
            // The pin directory is the agent's own: every entry in it is one of the program's maps.
            if (_io.BpfPinDir.Length > 0 && Directory.Exists(_io.BpfPinDir))
            {
                foreach (var pin in Directory.EnumerateFiles(_io.BpfPinDir)) File.Delete(pin);
                Directory.Delete(_io.BpfPinDir);
            }
            _log.WriteLine("ebpf: program detached (--bpf-detach-on-exit)");
        }
        else if (_attachments.Hook == BpfHook.Tc && _io.BpfPinDir.Length == 0)
        {
            // Unpinned tcx links end with the agent, and so does forwarding (no --bpf-pin-dir).
            _attachments.CloseLinks();
            if (_attachments.Current.Count > 0)
                _log.WriteLine($"ebpf: TC program detached from {string.Join(", ", _attachments.Current.Keys)} (tcx links not pinned: no --bpf-pin-dir)");
        }
        else if (_attachments.Hook == BpfHook.Tc)
        {
            _attachments.CloseLinks();
            if (_attachments.Current.Count > 0)
                _log.WriteLine($"ebpf: TC program left attached to {string.Join(", ", _attachments.Current.Keys)} (tcx links pinned under {_io.BpfPinDir}); it keeps forwarding until the next agent takes the links over (--bpf-detach-on-exit to remove it)");
        }
        else if (_attachments.Current.Count > 0)
        {
            // The host egress hooks' tcx links: pinned ones stay with the XDP program, unpinned ones end here.
            _attachments.CloseLinks();
            _log.WriteLine($"ebpf: program left attached to {string.Join(", ", _attachments.Current.Keys)}; it keeps forwarding until the next agent replaces it (--bpf-detach-on-exit to remove it)");
        }
        _dp.Dispose();
        _stop.Dispose();
    }
}
