using System.Security.Cryptography;
using Dataplane.WireGuard.Peers;

namespace Dataplane.WireGuard.Transport;

/// <summary>
/// One session's transport keys (whitepaper §5.4.5): a sending and a receiving ChaCha20-Poly1305 context made
/// once at handshake completion (OpenSSL key schedule off the packet path), the next sending counter, the
/// receive replay window, and the two indices that name the session on the wire. Each AEAD context is used
/// under its own lock because OpenSSL contexts are not shared between threads.
/// </summary>
public sealed class Keypair : IDisposable
{
    internal readonly ChaCha20Poly1305 Send;
    internal readonly ChaCha20Poly1305 Receive;
    internal readonly Lock SendLock = new(), ReceiveLock = new();
    internal readonly ReplayWindow Replay = new();
    private long _sendCounter = -1;

    internal Keypair(Peer peer, ReadOnlySpan<byte> sendKey, ReadOnlySpan<byte> receiveKey, uint localIndex, uint remoteIndex, bool isInitiator, long createdTicks)
    {
        Peer = peer;
        Send = new ChaCha20Poly1305(sendKey);
        Receive = new ChaCha20Poly1305(receiveKey);
        LocalIndex = localIndex;
        RemoteIndex = remoteIndex;
        IsInitiator = isInitiator;
        CreatedTicks = createdTicks;
    }

    public Peer Peer { get; }
    public uint LocalIndex { get; }
    public uint RemoteIndex { get; }
    /// <summary>We sent the initiation: only the initiator rekeys on age (§6.2), to avoid both sides racing.</summary>
    public bool IsInitiator { get; }
    /// <summary><see cref="System.Diagnostics.Stopwatch"/> ticks when the handshake completed.</summary>
    public long CreatedTicks { get; }

    /// <summary>Set once a receive-side rekey was asked for, so it is asked once per session.</summary>
    internal int RekeyRequested;

    /// <summary>The next counter to send with; ulong.MaxValue wraps are refused by the caller's limit check.</summary>
    internal ulong NextSendCounter() => (ulong)Interlocked.Increment(ref _sendCounter);

    internal ulong SentCount => (ulong)(Volatile.Read(ref _sendCounter) + 1);

    public void Dispose()
    {
        lock (SendLock) Send.Dispose();
        lock (ReceiveLock) Receive.Dispose();
    }
}
