using System.Net;
using Dataplane.Control.Config;

namespace Dataplane.Gateway.Agent;

/// <summary>
/// The gateway's rules over a model the loader accepted. The directory holds one DataplaneGateway per gateway of the
/// cluster (two serving the same networks is high availability: every host reads the same set, so nodes know them
/// all); this gateway's is the one named after its DataplaneNode (the loader refuses a name defined twice). Its mesh and on-prem
/// interfaces are the DataplaneNode's; the external workloads it serves lie inside its on-prem prefixes; its own Node
/// has no pod CIDRs (it hosts no pods). Each error points at the value.
/// </summary>
public static class GatewayRules
{
    public static void Check(ConfigModel m, SourceLocation origin)
    {
        if (m.Gateways.IsEmpty)
            throw new ConfigException(origin, $"no DataplaneGateway (apiVersion dataplane.io/v1alpha1) found; the gateway needs one named {m.Local.Name}, after its DataplaneNode");
        var gw = Gateway(m) ?? throw new ConfigException(m.Local.Source,
            $"DataplaneNode {m.Local.Name} has no DataplaneGateway of its name; the directory has {string.Join(", ", m.Gateways.Select(g => $"{g.Name} (at {g.Source})"))}");
        var interfaces = m.Local.Interfaces.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < gw.MeshInterfaces.Length; i++)
            if (!interfaces.Contains(gw.MeshInterfaces[i]))
                throw new ConfigException(gw.MeshInterfaceAt[i], $"spec.meshInterfaces: {gw.MeshInterfaces[i]} is not an interface of DataplaneNode {m.Local.Name}");
        for (int i = 0; i < gw.OnPremInterfaces.Length; i++)
            if (!interfaces.Contains(gw.OnPremInterfaces[i]))
                throw new ConfigException(gw.OnPremInterfaceAt[i], $"spec.onPremInterfaces: {gw.OnPremInterfaces[i]} is not an interface of DataplaneNode {m.Local.Name}");
        if (m.LocalNode.PodCidrs.Length > 0)
            throw new ConfigException(m.LocalNode.Source, $"node {m.LocalNode.Name} is a gateway: it hosts no pods, so it must have no podCIDRs");
        foreach (var w in m.ExternalWorkloads.Where(w => w.Gateway == gw.Name))
            for (int i = 0; i < w.Addresses.Length; i++)
                if (!gw.OnPremPrefixes.Any(p => p.Contains(w.Addresses[i].BaseAddress) && p.PrefixLength <= w.Addresses[i].PrefixLength))
                    throw new ConfigException(w.AddressAt[i],
                        $"external workload {w.Namespace}/{w.Name}: {w.Addresses[i]} is outside the onPremPrefixes of gateway {gw.Name} ({string.Join(", ", gw.OnPremPrefixes)})");
    }

    /// <summary>This gateway's DataplaneGateway (null only in a model <see cref="Check"/> refused).</summary>
    public static GatewaySpec? Gateway(ConfigModel m) => m.Gateways.FirstOrDefault(g => g.Name == m.Local.Name);

    /// <summary>The pod CIDRs of the mesh behind the gateway: every other Node's, but those of <paramref name="unreachable"/>.</summary>
    public static IEnumerable<IPNetwork> MeshPrefixes(ConfigModel m, IReadOnlySet<string> unreachable) =>
        m.Nodes.Where(n => n.Name != m.Local.Name && !unreachable.Contains(n.Name)).SelectMany(n => n.PodCidrs).Distinct();
}
