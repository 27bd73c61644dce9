using Dataplane.WireGuard.Crypto;

namespace Dataplane.WireGuard.Noise;

/// <summary>
/// This side's long-term key pair and the keys derived from its public key that every incoming handshake is
/// checked with: mac1's key HASH("mac1----" || S_pub) and the cookie-reply key HASH("cookie--" || S_pub).
/// </summary>
public sealed class StaticIdentity
{
    public StaticIdentity(WgKey privateKey)
    {
        if (privateKey.IsZero) throw new ArgumentException("the private key is all zeros", nameof(privateKey));
        PrivateKey = privateKey.ToArray();
        PublicKey = privateKey.PublicKey();
        var pub = PublicKey.ToArray();
        Mac1Key = Protocol.LabelKey(Protocol.LabelMac1, pub);
        CookieKey = Protocol.LabelKey(Protocol.LabelCookie, pub);
    }

    internal byte[] PrivateKey { get; }
    public WgKey PublicKey { get; }
    internal byte[] Mac1Key { get; }
    internal byte[] CookieKey { get; }
}
