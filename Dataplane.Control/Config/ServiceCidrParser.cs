using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>A <c>networking.k8s.io/v1 ServiceCIDR</c>: the ranges cluster IPs are allocated from (one per family).</summary>
public sealed record ServiceCidrSpec(string Name, ImmutableArray<IPNetwork> Cidrs, SourceLocation Source);

/// <summary>Kubernetes' ServiceCIDR (GA in 1.33; v1beta1 before): spec.cidrs, at most one per family.</summary>
internal static class ServiceCidrParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var list = doc.Root.Get("spec").Get("cidrs");
        var cidrs = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var item in list.Items())
        {
            var net = item.Cidr();
            if (cidrs.Any(c => c.BaseAddress.AddressFamily == net.BaseAddress.AddressFamily))
                throw item.Error($"spec.cidrs holds at most one range per family ({net} repeats one)");
            cidrs.Add(net);
        }
        if (cidrs.Count == 0) throw list.Error("needs at least one CIDR");
        into.ServiceCidrs.Add(new ServiceCidrSpec(doc.Name, cidrs.ToImmutable(), doc.Source));
    }
}
