using System.Buffers;
using System.Diagnostics;
using System.Text;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;
using Dataplane.Host.Hubble;

namespace Dataplane.Host.Observe;

/// <summary>
/// Drains the workers' flow rings off the datapath, builds each event's <c>flow.Flow</c> (<see cref="FlowRecords"/>),
/// keeps it in Hubble's ring (<see cref="FlowHistory"/>, what the Observer API serves) and, when a path is given,
/// appends it as a <c>hubble observe -o json</c> line (<see cref="FlowJson"/>) to a file, rotated by size like Cilium's Hubble exporter (<c>--hubble-export-file-path</c>,
/// <c>-max-size-mb</c>, <c>-max-backups</c>): PATH is renamed PATH.1 (PATH.1 → PATH.2 …) when it reaches the limit.
/// Observability never stops forwarding, and never the agent:
/// <list type="bullet">
/// <item>lines are written in chunks of at most <see cref="ChunkBytes"/> and the size is checked after each chunk, so
/// a ring that never drains (a flood) still rotates — a file never exceeds the limit by more than a chunk;</item>
/// <item>a write that fails (a full disk, a removed directory) is counted with its events, the file is reopened a
/// second later, and meanwhile events are counted as unwritten — never thrown;</item>
/// <item>dropped-packet events are exported at most <see cref="DropRate"/> per second (a token bucket, burst one
/// second's worth), as Cilium rate-limits its drop notifications; the rest are counted as rate-limited;</item>
/// <item>events the workers could not publish because a ring was full are counted in <see cref="Lost"/>, never waited for.</item>
/// </list>
/// </summary>
public sealed class FlowExporter : IDisposable
{
    public const int DefaultDropRate = 1000;
    private static readonly long RetryTicks = Stopwatch.Frequency;

    private readonly IReadOnlyList<FlowRing> _rings;
    private readonly Func<DatapathSnapshot> _snapshot;
    private readonly FlowRecords _records;
    private readonly FlowHistory? _history;
    private readonly HubbleMetrics? _metrics;
    private readonly Ipfix.IpfixExporter? _ipfix;
    /// <summary>Hubble records are wanted (a file or the Observer API), not only IPFIX's counts.</summary>
    private readonly bool _buildsFlows;
    /// <summary>Which packets' records are built (--bpf-events-*-enabled): the workers already leave the others out unless IPFIX wants them, and the eBPF backend's events are thinned here.</summary>
    private readonly bool _traceEvents, _dropEvents;
    private readonly long _maxBytes;
    private readonly int _maxBackups;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly ArrayBufferWriter<byte> _chunk = new(64 << 10);
    private int _chunkEvents;
    private FileStream? _file;
    private long _fileBytes;
    private long _retryAt;
    /// <summary>A failed write may have left half a line: the next write starts a new one.</summary>
    private bool _needNewline;
    private double _dropTokens;
    private long _dropTokensAt;
    private long _written, _unwritten, _rateLimited, _writeErrors;
    private volatile string? _lastError;

    /// <param name="path">the flow file; "" = flows only to <paramref name="history"/></param>
    public FlowExporter(IReadOnlyList<FlowRing> rings, Func<DatapathSnapshot> snapshot, FlowRecords records, string path,
        FlowHistory? history = null, long maxBytes = 10 << 20, int maxBackups = 5, int dropRate = DefaultDropRate, HubbleMetrics? metrics = null,
        Ipfix.IpfixExporter? ipfix = null, bool traceEvents = true, bool dropEvents = true)
    {
        _rings = rings; _snapshot = snapshot; _records = records; _history = history; _metrics = metrics; Path = path;
        _ipfix = ipfix;
        _buildsFlows = path.Length > 0 || history is not null;
        _traceEvents = traceEvents; _dropEvents = dropEvents;
        _maxBytes = Math.Max(4096, maxBytes); _maxBackups = Math.Max(0, maxBackups);
        ChunkBytes = (int)Math.Clamp(_maxBytes / 8, 1024, 64 << 10);
        DropRate = Math.Max(0, dropRate);
        _dropTokens = DropRate;
        _dropTokensAt = Stopwatch.GetTimestamp();
        // The first open may fail like any later one: reported in the status, retried, never fatal.
        if (path.Length > 0) TryOpen(_dropTokensAt);
        _thread = new Thread(Loop) { Name = "dp-flow-export", IsBackground = true };
        _thread.Start();
    }

    public string Path { get; }

    /// <summary>The IPFIX export fed from the same events (--ipfix-collector), or null.</summary>
    public Ipfix.IpfixExporter? Ipfix => _ipfix;

    /// <summary>Bytes of lines gathered before they are written (and the size checked).</summary>
    public int ChunkBytes { get; }

    /// <summary>Dropped-packet events exported per second at most; 0 = no limit.</summary>
    public int DropRate { get; }

    /// <summary>Flow events written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Events dropped because a worker's ring was full (summed over the rings).</summary>
    public long Lost
    {
        get { long s = 0; foreach (var r in _rings) s += Volatile.Read(ref r.Lost); return s; }
    }

    /// <summary>Events that could not be written (their write failed, or the file was not open).</summary>
    public long Unwritten => Interlocked.Read(ref _unwritten);

    /// <summary>Dropped-packet events left out over <see cref="DropRate"/>.</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);

    /// <summary>Writes, opens and rotations that failed.</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    public string? LastError => _lastError;

    public FlowExportStatus Status() => new(Path, Written, Lost, RateLimited, Unwritten, WriteErrors, LastError);

    private void Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            int n = Drain();
            _ipfix?.Tick();
            if (n == 0) _stop.Token.WaitHandle.WaitOne(20);
        }
        Drain();
        // The agent stops: what the cache still counts is exported now (flowEndReason forced end), not lost.
        _ipfix?.Flush();
    }

    /// <summary>Writes everything the rings hold now, a chunk at a time; returns the events taken from the rings.</summary>
    private int Drain()
    {
        int n = 0;
        DatapathSnapshot snapshot = _snapshot();
        foreach (var ring in _rings)
        {
            while (ring.TryRead(out var ev))
            {
                n++;
                // IPFIX counts every packet (its counts are the traffic's); the rate limit below only thins Hubble's records.
                _ipfix?.Add(ev);
                if (!_buildsFlows) continue;
                if (ev.L7Record == 0 && !(ev.Verdict == PacketVerdict.Drop ? _dropEvents : _traceEvents)) continue;
                if (ev.Verdict == PacketVerdict.Drop && !TakeDropToken())
                {
                    Interlocked.Increment(ref _rateLimited);
                    continue;
                }
                var flow = _records.Response(ev, snapshot);
                _history?.Add(flow);
                _metrics?.Count(flow.Flow);
                if (Path.Length == 0)
                {
                    Interlocked.Increment(ref _written);
                    continue;
                }
                string line = FlowJson.Line(flow);
                int bytes = Encoding.UTF8.GetByteCount(line);
                Encoding.UTF8.GetBytes(line, _chunk.GetSpan(bytes + 1));
                _chunk.Advance(bytes);
                _chunk.Write("\n"u8);
                _chunkEvents++;
                if (_chunk.WrittenCount >= ChunkBytes) WriteChunk();
            }
        }
        if (_chunkEvents > 0) WriteChunk();
        if (n > 0) _history?.Published();
        return n;
    }

    private bool TakeDropToken()
    {
        if (DropRate == 0) return true;
        long now = Stopwatch.GetTimestamp();
        _dropTokens = Math.Min(DropRate, _dropTokens + (double)(now - _dropTokensAt) / Stopwatch.Frequency * DropRate);
        _dropTokensAt = now;
        if (_dropTokens < 1) return false;
        _dropTokens--;
        return true;
    }

    /// <summary>Appends the gathered lines, then rotates when the file reached its limit. Never throws.</summary>
    private void WriteChunk()
    {
        int events = _chunkEvents;
        _chunkEvents = 0;
        long now = Stopwatch.GetTimestamp();
        try
        {
            if (_file is null && !TryOpen(now))
            {
                Interlocked.Add(ref _unwritten, events);
                return;
            }
            if (_needNewline) { _file!.Write("\n"u8); _needNewline = false; }
            _file!.Write(_chunk.WrittenSpan);
            _fileBytes += _chunk.WrittenCount;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Failed(e, now);
            Interlocked.Add(ref _unwritten, events);
            return;
        }
        finally { _chunk.ResetWrittenCount(); }
        Interlocked.Add(ref _written, events);
        if (_fileBytes < _maxBytes) return;
        try { Rotate(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Failed(e, now); }
    }

    /// <summary>Opens PATH for appending unless the last failure was less than a second ago.</summary>
    private bool TryOpen(long now)
    {
        if (now < _retryAt) return false;
        try
        {
            // Unbuffered: each chunk is one write, so a failure loses exactly that chunk's events, all counted.
            var options = new FileStreamOptions
            {
                Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0,
            };
            // The flows name every workload's traffic: owner and group only.
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
            _file = new FileStream(Path, options);
            _fileBytes = _file.Length;
            _needNewline = _fileBytes > 0 && LastByte() != (byte)'\n';
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Failed(e, now);
            return false;
        }
    }

    /// <summary>The file's last byte: a write that failed half-way may have left a line without its end.</summary>
    private int LastByte()
    {
        using var f = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        f.Seek(-1, SeekOrigin.End);
        return f.ReadByte();
    }

    private void Failed(Exception e, long now)
    {
        Interlocked.Increment(ref _writeErrors);
        _lastError = $"{DateTimeOffset.UtcNow:O} {e.Message}";
        try { _file?.Dispose(); } catch (IOException) { }
        _file = null;
        _retryAt = now + RetryTicks;
    }

    private void Rotate()
    {
        _file!.Dispose();
        _file = null;
        if (_maxBackups == 0) File.Delete(Path);
        else
        {
            for (int i = _maxBackups - 1; i >= 1; i--)
                if (File.Exists($"{Path}.{i}")) File.Move($"{Path}.{i}", $"{Path}.{i + 1}", overwrite: true);
            File.Move(Path, $"{Path}.1", overwrite: true);
        }
        TryOpen(Stopwatch.GetTimestamp());
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        try { _file?.Dispose(); } catch (IOException) { }
        _ipfix?.Dispose();
        _stop.Dispose();
    }
}
