using System.Collections.Concurrent;
using Dataplane.WireGuard.Cookies;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Noise;
using Dataplane.WireGuard.Transport;

namespace Dataplane.WireGuard.Peers;

/// <summary>
/// One remote WireGuard peer: its key, endpoint (learned from every authenticated packet, so it roams), the
/// handshake in flight, the three session slots of §5.4.6 (current; previous, still accepted for late packets;
/// next, the responder's session not yet confirmed by the initiator's first data), statistics and the timer
/// state the device's control loop acts on. Packet-path readers use the volatile session slots only.
/// </summary>
public sealed class Peer
{
    internal const int MaxStaged = 128;

    internal Peer(StaticIdentity local, WgKey publicKey, WireGuardTimers timers)
    {
        PublicKey = publicKey;
        Handshake = new Handshake(local, publicKey);
        Cookies = new CookieGenerator(publicKey, timers.CookieRefreshTime);
    }

    public WgKey PublicKey { get; }
    internal Handshake Handshake { get; }
    internal CookieGenerator Cookies { get; }

    private WgEndpoint _endpoint;
    private readonly Lock _endpointLock = new();
    public WgEndpoint Endpoint
    {
        get { lock (_endpointLock) return _endpoint; }
        internal set { lock (_endpointLock) _endpoint = value; }
    }

    /// <summary>Seconds between keepalives sent whatever the traffic (0: off), for peers behind NAT.</summary>
    public int PersistentKeepalive { get; internal set; }

    internal volatile Keypair? Current, Previous, Next;

    // Statistics (bytes of transport messages on the wire, as `wg show` counts them).
    private long _rxBytes, _txBytes, _lastHandshakeUnixMs;
    public long RxBytes => Interlocked.Read(ref _rxBytes);
    public long TxBytes => Interlocked.Read(ref _txBytes);
    internal void AddRx(long n) => Interlocked.Add(ref _rxBytes, n);
    internal void AddTx(long n) => Interlocked.Add(ref _txBytes, n);

    /// <summary>When the last handshake completed; null before the first.</summary>
    public DateTimeOffset? LastHandshake
    {
        get { long ms = Interlocked.Read(ref _lastHandshakeUnixMs); return ms == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(ms); }
    }
    internal void MarkHandshake() => Interlocked.Exchange(ref _lastHandshakeUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    // Timer state (Stopwatch ticks; 0 = not armed). Set on the packet path with plain stores, acted on by the control loop.
    internal long RetransmitAt, KeepaliveAt, NewHandshakeAt, ZeroKeysAt, PersistentKeepaliveAt;
    internal long HandshakeAttemptStarted, LastInitiationSent;
    internal int HandshakeRequested;
    internal int FlushRequested;

    /// <summary>Plaintext packets waiting for a session (bounded; the oldest goes first when full).</summary>
    internal readonly ConcurrentQueue<byte[]> Staged = new();

    internal void Stage(ReadOnlySpan<byte> packet)
    {
        while (Staged.Count >= MaxStaged && Staged.TryDequeue(out _)) { }
        Staged.Enqueue(packet.ToArray());
    }

    /// <summary>The session to send with now, or null: none yet, or expired by age or count.</summary>
    internal Keypair? SendKeypair(long now, WireGuardTimers timers, long rejectTicks)
    {
        var kp = Current;
        if (kp is null || now - kp.CreatedTicks >= rejectTicks || kp.SentCount >= timers.RejectAfterMessages) return null;
        return kp;
    }

    public override string ToString() => $"peer {PublicKey} endpoint {Endpoint}";
}
