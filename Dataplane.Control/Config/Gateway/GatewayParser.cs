using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// Reads <c>DataplaneGateway</c>: spec.meshInterfaces and spec.onPremInterfaces (names of the DataplaneNode's
/// interfaces, at least one each, disjoint) and spec.onPremPrefixes (CIDRs, at least one). Whether the interfaces
/// exist is checked by the gateway host against its DataplaneNode.
/// </summary>
internal static class GatewayParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("meshInterfaces", "onPremInterfaces", "onPremPrefixes");
        var (mesh, meshAt) = Names(spec, "meshInterfaces");
        var (onPrem, onPremAt) = Names(spec, "onPremInterfaces");
        for (int i = 0; i < onPrem.Length; i++)
            if (mesh.Contains(onPrem[i]))
                throw new ConfigException(onPremAt[i], $"spec.onPremInterfaces: {onPrem[i]} is also a mesh interface; an interface faces one side");
        var prefixes = ImmutableArray.CreateBuilder<IPNetwork>();
        var list = spec.Get("onPremPrefixes");
        foreach (var p in list.Items())
        {
            var net = p.Cidr();
            foreach (var seen in prefixes)
                if (IpText.Overlaps(seen, net)) throw p.Error($"{net} overlaps {seen}");
            prefixes.Add(net);
        }
        if (prefixes.Count == 0) throw list.Error("at least one prefix is required");
        into.Gateways.Add(new GatewaySpec(doc.Name, mesh, onPrem, prefixes.ToImmutable(), doc.Source, doc.NameNode.At, meshAt, onPremAt));
    }

    private static (ImmutableArray<string>, ImmutableArray<SourceLocation>) Names(YNode spec, string key)
    {
        var list = spec.Get(key);
        var names = ImmutableArray.CreateBuilder<string>();
        var at = ImmutableArray.CreateBuilder<SourceLocation>();
        foreach (var item in list.Items())
        {
            var name = item.String();
            if (name.Length == 0) throw item.Error("must name an interface");
            if (names.Contains(name)) throw item.Error($"{name} is listed twice");
            names.Add(name);
            at.Add(item.At);
        }
        if (names.Count == 0) throw list.Error("at least one interface is required");
        return (names.ToImmutable(), at.ToImmutable());
    }
}
