using Dataplane.Linux.Interop;

namespace Dataplane.Linux.AfPacket;

/// <summary>
/// Takes the kernel's slow socket steps off the path of whoever attaches or detaches a port (a pod's CNI ADD and
/// DEL wait for that): a few <see cref="AfPacketSocket"/>s are kept ready, their rings made, and ports that are no
/// longer used are closed here too. Both are slow for the same reason — setting a ring and closing a socket with
/// one each wait out RCU grace periods (<c>synchronize_net</c>), 8–25 ms apiece on a 2-vCPU VM, measured — and
/// both can happen on a thread of their own. One background thread; nothing here touches a packet.
/// </summary>
public sealed class AfPacketSocketPool : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<AfPacketSocket> _ready = new();
    private readonly Queue<IDisposable> _retired = new();
    private readonly int _spare;
    private readonly TextWriter? _log;
    private readonly Thread _thread;
    private bool _stopping;
    // A refill the kernel refused is not retried until the next Take: no spinning on a persistent error.
    private bool _refillRefused;

    /// <param name="options">What every socket of the pool is made with (per-port FanoutGroup/Promiscuous aside).</param>
    /// <param name="spare">Sockets kept ready; each holds a receive ring (BlockSize × BlockCount bytes).</param>
    /// <param name="log">Where a failed close is reported.</param>
    public AfPacketSocketPool(AfPacketOptions options, int spare = 2, TextWriter? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spare);
        Options = options;
        _spare = spare;
        _log = log;
        // Created by the thread that would otherwise open the sockets: the new thread shares its network namespace.
        _thread = new Thread(Run) { IsBackground = true, Name = "af_packet sockets" };
        _thread.Start();
    }

    public AfPacketOptions Options { get; }

    /// <summary>Sockets ready to be taken now.</summary>
    public int Ready { get { lock (_gate) return _ready.Count; } }

    /// <summary>Sockets made ahead and taken by a port (for tests and status).</summary>
    public long Taken { get; private set; }
    /// <summary>Ports closed by the pool's thread.</summary>
    public long Closed { get; private set; }

    /// <summary>A ready socket for a port with <paramref name="o"/>; null when none is ready or <paramref name="o"/> differs in what a pool socket fixes.</summary>
    public AfPacketSocket? Take(AfPacketOptions o)
    {
        lock (_gate)
        {
            if (_stopping) return null;
            _refillRefused = false;
            Monitor.Pulse(_gate);
            if (_ready.Count == 0 || !_ready.Peek().Fits(o)) return null;
            Taken++;
            return _ready.Dequeue();
        }
    }

    /// <summary>Closes <paramref name="port"/> on the pool's thread; the caller must no longer use it.</summary>
    public void Retire(IDisposable port)
    {
        lock (_gate)
        {
            if (!_stopping)
            {
                _retired.Enqueue(port);
                Monitor.Pulse(_gate);
                return;
            }
        }
        port.Dispose();
    }

    /// <summary>Waits until every port retired so far is closed (tests; a bounded wait).</summary>
    public bool WaitClosed(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        lock (_gate)
            while (_retired.Count > 0)
            {
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left)) return _retired.Count == 0;
            }
        return true;
    }

    private void Run()
    {
        while (true)
        {
            IDisposable? close = null;
            bool make = false;
            lock (_gate)
            {
                while (!_stopping && _retired.Count == 0 && (_ready.Count >= _spare || _refillRefused))
                    Monitor.Wait(_gate);
                if (_retired.Count > 0) close = _retired.Peek();
                else if (_stopping) return;
                else make = true;
            }
            if (close is not null)
            {
                try { close.Dispose(); }
                catch (Exception e) { _log?.WriteLine($"af_packet: closing a port failed: {e.Message}"); }
                lock (_gate)
                {
                    _retired.Dequeue();
                    Closed++;
                    Monitor.PulseAll(_gate);
                }
                continue;
            }
            if (!make) continue;
            try
            {
                var s = AfPacketSocket.Create(Options);
                lock (_gate)
                {
                    if (_stopping) { s.Dispose(); return; }
                    _ready.Enqueue(s);
                }
            }
            catch (Exception e) when (e is LinuxException or OutOfMemoryException)
            {
                // The port's own attempt will report the kernel's refusal where it matters; here it only stops refilling.
                lock (_gate) _refillRefused = true;
            }
        }
    }

    /// <summary>Closes what was retired and the sockets still ready, then stops the thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
        lock (_gate)
        {
            while (_ready.Count > 0) _ready.Dequeue().Dispose();
            while (_retired.Count > 0) _retired.Dequeue().Dispose();
        }
    }
}
