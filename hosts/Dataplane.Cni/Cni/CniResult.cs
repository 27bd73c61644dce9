using System.Net.Sockets;
using System.Text.Json.Nodes;
using Dataplane.Cni.Ipam;

namespace Dataplane.Cni.Cni;

/// <summary>The ADD result in the shape of the configuration's cniVersion (1.0.0; 0.3.x/0.4.0; 0.1.0/0.2.0).</summary>
internal static class CniResult
{
    public static JsonObject Build(string version, string hostIf, string hostMac, string ifName, string podMac, string netns,
        IReadOnlyList<Allocation> ips, IReadOnlyList<PodRoute> podRoutes)
    {
        if (CniVersions.IsLegacy(version))
        {
            var legacy = new JsonObject { ["cniVersion"] = version };
            foreach (var a in ips)
            {
                string key = a.Address.AddressFamily == AddressFamily.InterNetwork ? "ip4" : "ip6";
                var family = new JsonObject { ["ip"] = $"{a.Address}/{a.Subnet.PrefixLength}" };
                if (a.Gateway is not null) family["gateway"] = a.Gateway.ToString();
                family["routes"] = new JsonArray([.. podRoutes.Where(r => r.Destination.BaseAddress.AddressFamily == a.Address.AddressFamily)
                    .Select(r => (JsonNode)Route(r))]);
                legacy[key] = family;
            }
            legacy["dns"] = new JsonObject();
            return legacy;
        }
        var ipArray = new JsonArray();
        var routes = new JsonArray();
        foreach (var a in ips)
        {
            var ip = new JsonObject();
            if (CniVersions.HasIpVersionField(version)) ip["version"] = a.Address.AddressFamily == AddressFamily.InterNetwork ? "4" : "6";
            ip["address"] = $"{a.Address}/{a.Subnet.PrefixLength}";
            if (a.Gateway is not null) ip["gateway"] = a.Gateway.ToString();
            ip["interface"] = 1;
            ipArray.Add((JsonNode)ip);
        }
        foreach (var r in podRoutes) routes.Add((JsonNode)Route(r));
        return new JsonObject
        {
            ["cniVersion"] = version,
            ["interfaces"] = new JsonArray(
                new JsonObject { ["name"] = hostIf, ["mac"] = hostMac },
                new JsonObject { ["name"] = ifName, ["mac"] = podMac, ["sandbox"] = netns }),
            ["ips"] = ipArray,
            ["routes"] = routes,
            ["dns"] = new JsonObject(),
        };
    }

    public static JsonObject Error(string version, int code, string msg, string? details)
    {
        var e = new JsonObject { ["cniVersion"] = version, ["code"] = code, ["msg"] = msg };
        if (!string.IsNullOrEmpty(details)) e["details"] = details;
        return e;
    }

    private static JsonObject Route(PodRoute r)
    {
        var o = new JsonObject { ["dst"] = r.Destination.ToString() };
        if (r.Gateway is not null) o["gw"] = r.Gateway.ToString();
        return o;
    }
}
