using System.Diagnostics;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Noise;
using static Dataplane.WireGuard.Messages.MessageLayout;

namespace Dataplane.WireGuard.Cookies;

/// <summary>
/// The sending side of mac1/mac2 for one peer (§5.4.4, §5.4.7): mac1 keyed with HASH("mac1----" || peer's
/// public key); mac2 keyed with the last cookie the peer sent us while it is younger than Cookie-Refresh-Time,
/// else zeros. Remembers the last mac1 sent, because a cookie reply is only valid for it.
/// </summary>
public sealed class CookieGenerator
{
    private readonly Lock _lock = new();
    private readonly byte[] _mac1Key, _cookieKey;
    private readonly byte[] _lastMac1 = new byte[MacSize];
    private bool _haveLastMac1;
    private readonly byte[] _cookie = new byte[MacSize];
    private long _cookieTicks = long.MinValue;
    private readonly TimeSpan _refresh;

    public CookieGenerator(WgKey peerPublic, TimeSpan refresh)
    {
        var pub = peerPublic.ToArray();
        _mac1Key = Protocol.LabelKey(Protocol.LabelMac1, pub);
        _cookieKey = Protocol.LabelKey(Protocol.LabelCookie, pub);
        _refresh = refresh;
    }

    /// <summary>Writes mac1 and mac2 of a handshake message whose mac1 sits at <paramref name="mac1Offset"/> (mac2 follows it).</summary>
    public void AddMacs(Span<byte> msg, int mac1Offset)
    {
        int mac2Offset = mac1Offset + MacSize;
        lock (_lock)
        {
            Blake2s.Mac(_mac1Key, msg[..mac1Offset], msg.Slice(mac1Offset, MacSize));
            msg.Slice(mac1Offset, MacSize).CopyTo(_lastMac1);
            _haveLastMac1 = true;
            if (_cookieTicks != long.MinValue && Stopwatch.GetElapsedTime(_cookieTicks) < _refresh)
                Blake2s.Mac(_cookie, msg[..mac2Offset], msg.Slice(mac2Offset, MacSize));
            else
                msg.Slice(mac2Offset, MacSize).Clear();
        }
    }

    /// <summary>Opens a cookie reply to our last message and keeps the cookie; false if it does not verify.</summary>
    public bool ConsumeReply(ReadOnlySpan<byte> reply)
    {
        Span<byte> cookie = stackalloc byte[MacSize];
        lock (_lock)
        {
            if (!_haveLastMac1) return false;
            if (!HandshakeAead.XOpen(_cookieKey, reply.Slice(CookieReply.Nonce, CookieNonceSize),
                    reply.Slice(CookieReply.Cookie, MacSize + TagSize), _lastMac1, cookie)) return false;
            cookie.CopyTo(_cookie);
            _cookieTicks = Stopwatch.GetTimestamp();
            _haveLastMac1 = false;
            return true;
        }
    }
}
