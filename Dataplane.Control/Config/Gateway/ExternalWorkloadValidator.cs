using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// Whole-model rules of external workloads: a gateway named must be a Node; an address must not overlap another
/// workload's, a pod CIDR (pods own those) or a node's address (the ipcache would give a host a VM's identity).
/// </summary>
internal static class ExternalWorkloadValidator
{
    public static void Validate(ModelBuilder m, Dictionary<string, ParsedNode> nodes)
    {
        var seen = new List<(IPNetwork Net, ExternalWorkloadSpec Owner)>();
        foreach (var w in m.ExternalWorkloads)
        {
            if (w.Gateway is { } gw && !nodes.ContainsKey(gw))
                throw new ConfigException(w.GatewayAt,
                    $"external workload {w.Namespace}/{w.Name}: gateway {gw} has no Node object (the gateway is a Node with its InternalIP)");
            for (int i = 0; i < w.Addresses.Length; i++)
            {
                var net = w.Addresses[i];
                var at = w.AddressAt[i];
                foreach (var (other, owner) in seen)
                    if (IpText.Overlaps(net, other))
                        throw new ConfigException(at, $"{net} overlaps {other} of external workload {owner.Namespace}/{owner.Name}");
                foreach (var n in m.Nodes)
                {
                    foreach (var cidr in n.Spec.PodCidrs)
                        if (IpText.Overlaps(net, cidr))
                            throw new ConfigException(at, $"{net} overlaps pod CIDR {cidr} of node {n.Spec.Name}");
                    foreach (var ip in n.Spec.InternalIps)
                        if (net.Contains(ip))
                            throw new ConfigException(at, $"{net} contains {ip}, an InternalIP of node {n.Spec.Name}");
                }
                seen.Add((net, w));
            }
        }
    }
}
