using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Dataplane.WireGuard.Peers;
using Dataplane.WireGuard.Transport;
using static Dataplane.WireGuard.Messages.MessageLayout;

namespace Dataplane.WireGuard.Device;

/// <summary>
/// The device's own thread: drains the bounded handshake queue (the device counts as under load while it is
/// an eighth full, and for a second after, as wireguard-go does — then mac2 is required), runs every peer's
/// timers (§6: retransmit, keepalive, new handshake on silence, zeroing after 3 × Reject-After-Time, persistent
/// keepalive) and sends what waited for a session.
/// </summary>
public sealed partial class WireGuardDevice
{
    public const int HandshakeQueueSize = 1024;
    private static readonly long UnderLoadAfter = Stopwatch.Frequency;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    private readonly record struct HandshakeWork(byte[] Message, int Length, WgEndpoint Source);

    private readonly ConcurrentQueue<HandshakeWork> _handshakes = new();
    private int _queued;
    private long _underLoadUntil;
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _control;
    private volatile bool _stop;

    /// <summary>Forces the under-load state (mac2 required) for this long, whatever the queue; for tests and operators under attack.</summary>
    public void AssumeUnderLoad(TimeSpan forHowLong) => Volatile.Write(ref _underLoadUntil, Stopwatch.GetTimestamp() + ToTicks(forHowLong));

    public bool UnderLoad => Stopwatch.GetTimestamp() < Volatile.Read(ref _underLoadUntil) || Volatile.Read(ref _queued) >= HandshakeQueueSize / 8;

    private bool EnqueueHandshake(ReadOnlySpan<byte> msg, in WgEndpoint source)
    {
        if (Interlocked.Increment(ref _queued) > HandshakeQueueSize) { Interlocked.Decrement(ref _queued); return false; }
        var buf = ArrayPool<byte>.Shared.Rent(Initiation.Size);
        msg.CopyTo(buf);
        _handshakes.Enqueue(new HandshakeWork(buf, msg.Length, source));
        _wake.Set();
        return true;
    }

    private void ControlLoop()
    {
        while (!_stop)
        {
            _wake.WaitOne(Tick);
            try
            {
                DrainHandshakes();
                RunTimers();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One bad message or a sender error must not stop every later handshake: counted, loop goes on.
                Count(WgCounter.DropHandshakeInvalid);
                Trace.TraceError($"wireguard control loop: {e}");
            }
        }
    }

    private void DrainHandshakes()
    {
        while (_handshakes.TryDequeue(out var work))
        {
            int depth = Interlocked.Decrement(ref _queued) + 1;
            long now = Stopwatch.GetTimestamp();
            if (depth >= HandshakeQueueSize / 8) Volatile.Write(ref _underLoadUntil, now + UnderLoadAfter);
            try { HandleHandshakeMessage(work.Message.AsSpan(0, work.Length), work.Source, now < Volatile.Read(ref _underLoadUntil)); }
            finally { ArrayPool<byte>.Shared.Return(work.Message); }
        }
    }

    private void RunTimers()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var peer in Peers)
        {
            if (Interlocked.Exchange(ref peer.HandshakeRequested, 0) == 1
                && (peer.LastInitiationSent == 0 || now - peer.LastInitiationSent >= ToTicks(Timers.RekeyTimeout)))
                SendInitiation(peer, now);

            if (peer.RetransmitAt != 0 && now >= peer.RetransmitAt)
            {
                if (now - peer.HandshakeAttemptStarted >= ToTicks(Timers.RekeyAttemptTime))
                {
                    // §6.4: give up after Rekey-Attempt-Time; what waited is dropped, the next packet starts over.
                    peer.RetransmitAt = 0;
                    peer.HandshakeAttemptStarted = 0;
                    int n = 0;
                    while (peer.Staged.TryDequeue(out _)) n++;
                    Count(WgCounter.DropHandshakeGaveUp, Math.Max(n, 1));
                }
                else SendInitiation(peer, now);
            }

            if (peer.KeepaliveAt != 0 && now >= peer.KeepaliveAt) { peer.KeepaliveAt = 0; SendKeepalive(peer); }

            if (peer.NewHandshakeAt != 0 && now >= peer.NewHandshakeAt)
            {
                // §6.5: we sent and heard nothing back for Keepalive-Timeout + Rekey-Timeout.
                peer.NewHandshakeAt = 0;
                if (peer.RetransmitAt == 0) SendInitiation(peer, now);
            }

            if (peer.PersistentKeepalive > 0 && peer.PersistentKeepaliveAt != 0 && now >= peer.PersistentKeepaliveAt)
                SendKeepalive(peer);

            if (peer.ZeroKeysAt != 0 && now >= peer.ZeroKeysAt) { peer.ZeroKeysAt = 0; ZeroSessions(peer); }

            if (Interlocked.Exchange(ref peer.FlushRequested, 0) == 1 || !peer.Staged.IsEmpty) FlushStaged(peer);
        }
    }

    /// <summary>Encrypts and sends one packet (or a keepalive when empty) from the control loop; false without a usable session.</summary>
    private unsafe bool SendOne(Peer peer, ReadOnlySpan<byte> plain)
    {
        long now = Stopwatch.GetTimestamp();
        var kp = peer.SendKeypair(now, Timers, _rejectTicks);
        var endpoint = peer.Endpoint;
        if (kp is null || !endpoint.IsSet) return false;
        int size = TransportSize(plain.Length);
        byte[] rented = ArrayPool<byte>.Shared.Rent(size + WgPacket.MessageTailroom);
        try
        {
            fixed (byte* b = rented)
            {
                plain.CopyTo(rented.AsSpan(TransportData.HeaderSize));
                var p = new WgPacket { Buffer = b, Capacity = rented.Length, Offset = TransportData.HeaderSize, Length = plain.Length };
                Span<byte> nonce = stackalloc byte[12];
                nonce.Clear();
                Seal(ref p, kp, nonce);
                _sender.Send(p.Data, endpoint);
                peer.AddTx(p.Length);
            }
        }
        finally { ArrayPool<byte>.Shared.Return(rented); }
        peer.KeepaliveAt = 0;
        if (peer.PersistentKeepalive > 0) peer.PersistentKeepaliveAt = now + peer.PersistentKeepalive * Stopwatch.Frequency;
        return true;
    }

    private void SendKeepalive(Peer peer)
    {
        if (SendOne(peer, default)) Count(WgCounter.KeepalivesSent);
    }

    /// <summary>Sends what waited for the session; false if nothing was sent.</summary>
    private bool FlushStaged(Peer peer)
    {
        bool any = false;
        while (peer.Staged.TryPeek(out var packet))
        {
            if (!SendOne(peer, packet)) { if (peer.Current is null) RequestHandshake(peer); return any; }
            peer.Staged.TryDequeue(out _);
            Count(WgCounter.TxPackets);
            if (peer.NewHandshakeAt == 0) peer.NewHandshakeAt = Stopwatch.GetTimestamp() + ToTicks(Timers.KeepaliveTimeout + Timers.RekeyTimeout);
            any = true;
        }
        return any;
    }
}
