using System.Text.Encodings.Web;
using System.Text.Json;
using Dataplane.Core.Flows;
using Dataplane.Core.Snapshot;

namespace Dataplane.Host.Observe;

/// <summary>
/// Drains the workers' flow rings off the datapath and appends each event as a <c>hubble observe -o json</c> line
/// to a file, rotated by size like Cilium's Hubble exporter (<c>--hubble-export-file-path</c>,
/// <c>-max-size-mb</c>, <c>-max-backups</c>): PATH is renamed PATH.1 (PATH.1 → PATH.2 …) when it reaches the
/// limit. Events the workers could not publish because a ring was full are counted in <see cref="Lost"/>, never
/// waited for: the datapath does not block on observability.
/// </summary>
public sealed class FlowExporter : IDisposable
{
    private readonly IReadOnlyList<FlowRing> _rings;
    private readonly Func<DatapathSnapshot> _snapshot;
    private readonly long _maxBytes;
    private readonly int _maxBackups;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private FileStream _file;
    private Utf8JsonWriter _json;

    public FlowExporter(IReadOnlyList<FlowRing> rings, Func<DatapathSnapshot> snapshot, string path,
        long maxBytes = 10 << 20, int maxBackups = 5)
    {
        _rings = rings; _snapshot = snapshot; Path = path;
        _maxBytes = Math.Max(4096, maxBytes); _maxBackups = Math.Max(0, maxBackups);
        (_file, _json) = Open(path);
        _thread = new Thread(Loop) { Name = "dp-flow-export", IsBackground = true };
        _thread.Start();
    }

    public string Path { get; }

    /// <summary>Flow events written so far.</summary>
    public long Written { get; private set; }

    /// <summary>Events dropped because a worker's ring was full (summed over the rings).</summary>
    public long Lost
    {
        get { long s = 0; foreach (var r in _rings) s += Volatile.Read(ref r.Lost); return s; }
    }

    private static (FileStream, Utf8JsonWriter) Open(string path)
    {
        var f = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        return (f, new Utf8JsonWriter(f, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    private void Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            if (Drain() == 0) _stop.Token.WaitHandle.WaitOne(20);
        }
        Drain();
    }

    /// <summary>Writes everything the rings hold now; returns the events written.</summary>
    private int Drain()
    {
        int n = 0;
        DatapathSnapshot snapshot = _snapshot();
        foreach (var ring in _rings)
        {
            while (ring.TryRead(out var ev))
            {
                HubbleJson.Write(_json, ev, snapshot);
                _json.Flush();
                _json.Reset();
                _file.WriteByte((byte)'\n');
                n++;
            }
        }
        if (n == 0) return 0;
        _file.Flush();
        Written += n;
        if (_file.Length >= _maxBytes) Rotate();
        return n;
    }

    private void Rotate()
    {
        _json.Dispose();
        _file.Dispose();
        if (_maxBackups == 0) File.Delete(Path);
        else
        {
            for (int i = _maxBackups - 1; i >= 1; i--)
                if (File.Exists($"{Path}.{i}")) File.Move($"{Path}.{i}", $"{Path}.{i + 1}", overwrite: true);
            File.Move(Path, $"{Path}.1", overwrite: true);
        }
        (_file, _json) = Open(Path);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _json.Dispose();
        _file.Dispose();
        _stop.Dispose();
    }
}
