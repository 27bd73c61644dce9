using System.Collections.Immutable;
using System.Globalization;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>CiliumBGPAdvertisement</c> (cluster-scoped; peer configs select it by its labels): spec.advertisements[]
/// {advertisementType PodCIDR | Service, service.addresses, selector, attributes {communities {standard,
/// wellKnown}, localPreference}}. CiliumPodIPPool and Interface advertisements and large communities are
/// not supported and say so.
/// </summary>
internal static class BgpAdvertisementParser
{
    /// <summary>RFC 1997 / IANA well-known communities by the names Cilium's CRD accepts.</summary>
    private static readonly Dictionary<string, uint> WellKnown = new(StringComparer.Ordinal)
    {
        ["internet"] = 0x00000000,
        ["planned-shut"] = 0xFFFF0000,
        ["accept-own"] = 0xFFFF0001,
        ["route-filter-translated-v4"] = 0xFFFF0002,
        ["route-filter-v4"] = 0xFFFF0003,
        ["route-filter-translated-v6"] = 0xFFFF0004,
        ["route-filter-v6"] = 0xFFFF0005,
        ["llgr-stale"] = 0xFFFF0006,
        ["no-llgr"] = 0xFFFF0007,
        ["blackhole"] = 0xFFFF029A,
        ["no-export"] = 0xFFFFFF01,
        ["no-advertise"] = 0xFFFFFF02,
        ["no-export-subconfed"] = 0xFFFFFF03,
        ["no-peer"] = 0xFFFFFF04,
    };

    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("advertisements");
        var list = spec.Get("advertisements");
        var entries = ImmutableArray.CreateBuilder<BgpAdvertisementEntrySpec>();
        foreach (var item in list.Items())
            entries.Add(Entry(item));
        if (entries.Count == 0) throw list.Error("at least one advertisement is required");
        into.BgpAdvertisements.Add(new BgpAdvertisementSpec(doc.Name, MetadataReader.Labels(doc), entries.ToImmutable(), doc.Source));
    }

    private static BgpAdvertisementEntrySpec Entry(YNode item)
    {
        item.AllowOnly("advertisementType", "service", "selector", "attributes", "interface");
        var typeNode = item.Get("advertisementType");
        var type = typeNode.String() switch
        {
            "PodCIDR" => BgpAdvertisementType.PodCIDR,
            "Service" => BgpAdvertisementType.Service,
            "CiliumPodIPPool" or "Interface" => throw typeNode.Error($"advertisementType {typeNode.String()} is not supported (PodCIDR and Service are)"),
            var x => throw typeNode.Error($"advertisementType must be PodCIDR or Service, got '{x}'"),
        };
        var entry = new BgpAdvertisementEntrySpec(type, item.At);
        if (item.TryGet("service", out var svc))
        {
            if (type != BgpAdvertisementType.Service) throw svc.Error("service is only for advertisementType Service");
            svc.AllowOnly("addresses", "aggregationLengthIPv4", "aggregationLengthIPv6");
            if (svc.TryGet("aggregationLengthIPv4", out var ag) || svc.TryGet("aggregationLengthIPv6", out ag))
                throw ag.Error("service address aggregation is not supported");
            foreach (var a in svc.Get("addresses").Items())
            {
                entry = a.String() switch
                {
                    "ClusterIP" => entry with { ClusterIp = true },
                    "ExternalIP" => entry with { ExternalIp = true },
                    "LoadBalancerIP" => entry with { LoadBalancerIp = true },
                    var x => throw a.Error($"must be ClusterIP, ExternalIP or LoadBalancerIP, got '{x}'"),
                };
            }
        }
        else if (type == BgpAdvertisementType.Service)
        {
            throw item.Error("advertisementType Service needs service.addresses");
        }
        if (item.TryGet("interface", out var itf)) throw itf.Error("interface advertisements are not supported");
        if (item.TryGet("selector", out var sel))
        {
            if (type != BgpAdvertisementType.Service) throw sel.Error("selector is only for advertisementType Service");
            entry = entry with { Selector = PolicyParser.ParseSelector(sel) };
        }
        if (item.TryGet("attributes", out var attrs))
        {
            attrs.AllowOnly("communities", "localPreference");
            if (attrs.TryGet("localPreference", out var lp)) entry = entry with { LocalPreference = (uint)lp.Int(0, int.MaxValue) };
            if (attrs.TryGet("communities", out var comms))
            {
                comms.AllowOnly("standard", "wellKnown", "large");
                if (comms.TryGet("large", out var large)) throw large.Error("large communities are not supported");
                var values = ImmutableArray.CreateBuilder<uint>();
                if (comms.TryGet("standard", out var std))
                    foreach (var c in std.Items()) values.Add(Standard(c));
                if (comms.TryGet("wellKnown", out var wk))
                    foreach (var c in wk.Items())
                        values.Add(WellKnown.TryGetValue(c.String(), out var v) ? v
                            : throw c.Error($"unknown well-known community '{c.String()}' (expected one of: {string.Join(", ", WellKnown.Keys)})"));
                entry = entry with { Communities = [.. values.Distinct()] };
            }
        }
        return entry;
    }

    /// <summary>"asn:value" (two 16-bit halves) or one 32-bit decimal, as Cilium's CRD allows.</summary>
    private static uint Standard(YNode n)
    {
        var text = n.String();
        int colon = text.IndexOf(':');
        if (colon < 0)
        {
            return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                ? v : throw n.Error($"invalid community '{text}' (expected asn:value or a 32-bit number)");
        }
        if (ushort.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var hi)
            && ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var lo))
            return ((uint)hi << 16) | lo;
        throw n.Error($"invalid community '{text}' (each half of asn:value is 0..65535)");
    }
}
