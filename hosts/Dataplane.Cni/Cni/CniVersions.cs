namespace Dataplane.Cni.Cni;

/// <summary>The spec versions this plugin speaks: Cilium's range and 1.1.0 (STATUS, GC).</summary>
public static class CniVersions
{
    public const string Current = "1.1.0";
    public static readonly string[] Supported = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    public static bool IsSupported(string v) => Supported.Contains(v, StringComparer.Ordinal);

    /// <summary>0.1.0/0.2.0 results have the old ip4/ip6 shape; 0.3.x/0.4.0 carry a "version" per IP.</summary>
    public static bool IsLegacy(string v) => v is "0.1.0" or "0.2.0";
    public static bool HasIpVersionField(string v) => v is "0.3.0" or "0.3.1" or "0.4.0";
}
