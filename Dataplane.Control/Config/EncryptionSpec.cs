namespace Dataplane.Control.Config;

/// <summary>
/// DataplaneNode <c>spec.encryption</c>, spelled as Cilium's Helm values: <c>enabled</c>, <c>type: wireguard</c>
/// (the only type: there is no IPsec here), <c>strictMode.enabled</c> (pod-to-pod traffic to other nodes that would
/// leave unencrypted is dropped), <c>wireguard.persistentKeepalive</c> (seconds, 0 = off). The UDP port is Cilium's
/// fixed 51871.
/// </summary>
public sealed record EncryptionSpec(bool Enabled, bool StrictMode, int PersistentKeepalive, SourceLocation Source)
{
    public static EncryptionSpec Disabled { get; } = new(false, false, 0, new SourceLocation("", 0, 0));

    /// <summary>The Node annotation Cilium publishes a node's WireGuard public key under.</summary>
    public const string PublicKeyAnnotation = "network.cilium.io/wg-pub-key";

    internal static EncryptionSpec Parse(YNode e)
    {
        e.AllowOnly("enabled", "type", "strictMode", "wireguard", "nodeEncryption");
        bool enabled = e.TryGet("enabled", out var en) && Bool(en);
        if (e.TryGet("type", out var t) && t.String() != "wireguard")
            throw t.Error($"encryption type '{t.String()}' is not supported (only wireguard)");
        if (e.TryGet("nodeEncryption", out var ne) && Bool(ne))
            throw ne.Error("nodeEncryption (host-to-host traffic) is not supported; tunnel traffic between nodes is encrypted");
        bool strict = false;
        if (e.TryGet("strictMode", out var sm))
        {
            sm.AllowOnly("enabled");
            strict = sm.TryGet("enabled", out var se) && Bool(se);
        }
        int keepalive = 0;
        if (e.TryGet("wireguard", out var wg))
        {
            wg.AllowOnly("persistentKeepalive");
            if (wg.TryGet("persistentKeepalive", out var pk)) keepalive = pk.Int(0, 65535);
        }
        if (strict && !enabled) throw sm.Error("strictMode needs encryption.enabled: true");
        return new EncryptionSpec(enabled, strict, keepalive, e.At);
    }

    private static bool Bool(YNode n) => n.String() switch
    {
        "true" => true,
        "false" => false,
        var x => throw n.Error($"expected true or false, got '{x}'"),
    };
}
