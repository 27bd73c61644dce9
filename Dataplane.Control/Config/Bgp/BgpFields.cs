using System.Globalization;

namespace Dataplane.Control.Config;

/// <summary>Typed reads shared by the BGP kinds: ASNs, ports and seconds in the ranges Cilium's CRDs allow.</summary>
internal static class BgpFields
{
    /// <summary>A 4-octet AS number, 1..4294967295 (0 is reserved, RFC 7607).</summary>
    public static uint Asn(YNode n)
    {
        var text = n.String();
        if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint asn))
            throw n.Error($"expected an AS number (1..4294967295), got '{text}'");
        return asn != 0 ? asn : throw n.Error("AS number 0 is reserved");
    }

    public static int Port(YNode n) => n.Int(1, 65535);

    /// <summary>The names of a referenced object: <c>{name, group?, kind?}</c> with the group and kind it must have.</summary>
    public static string Reference(YNode n, string kind)
    {
        n.AllowOnly("name", "group", "kind");
        if (n.OptString("group") is { } g && g != "cilium.io") throw n.Get("group").Error($"must be cilium.io, got '{g}'");
        if (n.OptString("kind") is { } k && k != kind) throw n.Get("kind").Error($"must be {kind}, got '{k}'");
        return n.RequiredString("name");
    }
}
