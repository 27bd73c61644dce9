using System.Diagnostics;
using System.Security.Cryptography;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Noise;
using Dataplane.WireGuard.Transport;
using static Dataplane.WireGuard.Messages.MessageLayout;

namespace Dataplane.WireGuard.Cookies;

/// <summary>
/// The receiving side of the DoS defence (whitepaper §5.3, §5.4.7): every handshake message must carry a valid
/// mac1 (keyed with our public key, so only senders that know it get any work done); under load it must also
/// carry mac2, keyed with a cookie bound to its source address — without one it gets a cookie reply instead of a
/// DH. The secret behind cookies is random and changes every Cookie-Refresh-Time.
/// </summary>
public sealed class CookieChecker(StaticIdentity local, TimeSpan refresh)
{
    private readonly Lock _lock = new();
    private readonly byte[] _secret = new byte[Blake2s.HashSize];
    private long _secretTicks = long.MinValue;

    /// <summary>mac1 over the message up to it, keyed with HASH("mac1----" || our public key).</summary>
    public bool CheckMac1(ReadOnlySpan<byte> msg, int mac1Offset)
    {
        Span<byte> mac = stackalloc byte[MacSize];
        Blake2s.Mac(local.Mac1Key, msg[..mac1Offset], mac);
        return CryptographicOperations.FixedTimeEquals(mac, msg.Slice(mac1Offset, MacSize));
    }

    /// <summary>mac2 over the message up to it, keyed with the cookie the sender's address would get now.</summary>
    public bool CheckMac2(ReadOnlySpan<byte> msg, int mac2Offset, in WgEndpoint source)
    {
        Span<byte> cookie = stackalloc byte[MacSize], mac = stackalloc byte[MacSize];
        CookieFor(source, cookie);
        Blake2s.Mac(cookie, msg[..mac2Offset], mac);
        return CryptographicOperations.FixedTimeEquals(mac, msg.Slice(mac2Offset, MacSize));
    }

    /// <summary>
    /// A cookie reply (64 bytes) to <paramref name="msg"/>: receiver = its sender index, the cookie sealed with
    /// XChaCha20-Poly1305 under HASH("cookie--" || our public key), the message's mac1 as associated data.
    /// </summary>
    public void WriteReply(ReadOnlySpan<byte> msg, int mac1Offset, uint senderIndex, in WgEndpoint source, Span<byte> reply)
    {
        reply[..CookieReply.Size].Clear();
        reply[0] = TypeCookieReply;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(reply[CookieReply.Receiver..], senderIndex);
        var nonce = reply.Slice(CookieReply.Nonce, CookieNonceSize);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> cookie = stackalloc byte[MacSize];
        CookieFor(source, cookie);
        HandshakeAead.XSeal(local.CookieKey, nonce, cookie, msg.Slice(mac1Offset, MacSize), reply.Slice(CookieReply.Cookie, MacSize + TagSize));
    }

    private void CookieFor(in WgEndpoint source, Span<byte> cookie)
    {
        Span<byte> input = stackalloc byte[18];
        source.WriteCookieInput(input);
        lock (_lock)
        {
            long now = Stopwatch.GetTimestamp();
            if (_secretTicks == long.MinValue || Stopwatch.GetElapsedTime(_secretTicks, now) >= refresh)
            {
                RandomNumberGenerator.Fill(_secret);
                _secretTicks = now;
            }
            Blake2s.Mac(_secret, input, cookie);
        }
    }
}
