using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// Reads <c>ExternalWorkload</c>: metadata.labels (the identity), spec.addresses (IP addresses — a VM, a server — or
/// CIDRs — a subnet), spec.gateway (optional: the gateway Node serving it).
/// </summary>
internal static class ExternalWorkloadParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("addresses", "gateway");
        var list = spec.Get("addresses");
        var addresses = ImmutableArray.CreateBuilder<IPNetwork>();
        var at = ImmutableArray.CreateBuilder<SourceLocation>();
        foreach (var a in list.Items())
        {
            var net = Address(a);
            foreach (var seen in addresses)
                if (IpText.Overlaps(seen, net)) throw a.Error($"{net} overlaps {seen} of the same workload");
            addresses.Add(net);
            at.Add(a.At);
        }
        if (addresses.Count == 0) throw list.Error("at least one address is required");
        string? gateway = null;
        var gatewayAt = doc.Source;
        if (spec.TryGet("gateway", out var g))
        {
            gateway = g.String();
            gatewayAt = g.At;
            if (gateway.Length == 0) throw g.Error("must name the gateway's Node");
        }
        into.ExternalWorkloads.Add(new ExternalWorkloadSpec(doc.Namespace, doc.Name, MetadataReader.Labels(doc),
            addresses.ToImmutable(), gateway, doc.Source, gatewayAt, at.ToImmutable()));
    }

    /// <summary>"198.18.1.5" is that host (/32 or /128); "198.18.1.0/24" a subnet (host bits must be zero).</summary>
    private static IPNetwork Address(YNode a)
    {
        if (a.String().Contains('/')) return a.Cidr();
        var ip = a.Ip();
        return new IPNetwork(ip, IpText.MaxPrefix(ip));
    }
}
