using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// Rules that span documents. Each rule is one method throwing at the most specific position it has;
/// new kinds add their cross-object rules here. Runs only after every document parsed cleanly.
/// </summary>
internal static class ModelValidator
{
    public static void Validate(ModelBuilder m, SourceLocation origin)
    {
        var local = SingleLocalNode(m, origin);
        var nodes = m.Nodes.ToDictionary(n => n.Spec.Name, StringComparer.Ordinal);
        LocalNodeHasNodeObject(local, nodes);
        PodCidrsDisjoint(m.Nodes);
        PodsOnKnownNodes(m.Pods, nodes);
        PodIpsUnique(m.Pods);
        PodIpsNotInfrastructure(m.Pods, m.Nodes, local);
        PodIpsInsideNodeCidrs(m.Pods, nodes);
        LocalMacsDistinct(m.Pods, local);
        ServiceValidator.Validate(m, local.Spec);
        OverlayValidator.Validate(m, local);
        ExternalWorkloadValidator.Validate(m, nodes);
    }

    private static ParsedLocalNode SingleLocalNode(ModelBuilder m, SourceLocation origin)
    {
        if (m.LocalNodes.Count == 0)
            throw new ConfigException(origin,
                "no DataplaneNode (apiVersion dataplane.io/v1alpha1) found; exactly one is required");
        if (m.LocalNodes.Count > 1)
            throw new ConfigException(m.LocalNodes[1].NameAt,
                $"more than one DataplaneNode; exactly one is allowed (first is {m.LocalNodes[0].Spec.Name} " +
                $"at {m.LocalNodes[0].Spec.Source})");
        return m.LocalNodes[0];
    }

    private static void LocalNodeHasNodeObject(ParsedLocalNode local, Dictionary<string, ParsedNode> nodes)
    {
        if (!nodes.ContainsKey(local.Spec.Name))
            throw new ConfigException(local.NameAt,
                $"DataplaneNode {local.Spec.Name} names a Node that does not exist; add a v1 Node named {local.Spec.Name}");
    }

    /// <summary>Pod CIDRs decide which node a pod address is routed to, so they must not overlap.</summary>
    private static void PodCidrsDisjoint(List<ParsedNode> nodes)
    {
        var seen = new List<(IPNetwork Cidr, string Node)>();
        foreach (var n in nodes)
        {
            for (int i = 0; i < n.Spec.PodCidrs.Length; i++)
            {
                var cidr = n.Spec.PodCidrs[i];
                foreach (var (other, owner) in seen)
                    if (IpText.Overlaps(cidr, other))
                        throw new ConfigException(n.PodCidrAt[i],
                            $"pod CIDR {cidr} of node {n.Spec.Name} overlaps pod CIDR {other} of node {owner}");
            }
            foreach (var c in n.Spec.PodCidrs)
                seen.Add((c, n.Spec.Name));
        }
    }

    private static void PodsOnKnownNodes(List<ParsedPod> pods, Dictionary<string, ParsedNode> nodes)
    {
        foreach (var p in pods)
            if (p.Spec.NodeName.Length > 0 && !nodes.ContainsKey(p.Spec.NodeName))
                throw new ConfigException(p.NodeNameAt,
                    $"pod {p.Spec.Namespace}/{p.Spec.Name} is on node {p.Spec.NodeName}, which has no Node object");
    }

    private static void PodIpsUnique(List<ParsedPod> pods)
    {
        var owners = new Dictionary<IPAddress, ParsedPod>();
        foreach (var p in pods)
        {
            for (int i = 0; i < p.Spec.Ips.Length; i++)
            {
                var ip = p.Spec.Ips[i];
                if (owners.TryGetValue(ip, out var first))
                    throw new ConfigException(p.IpAt[i],
                        $"pod IP {ip} is already used by pod {first.Spec.Namespace}/{first.Spec.Name} (at {first.Spec.Source})");
                owners.Add(ip, p);
            }
        }
    }

    /// <summary>A pod address that equals a node or interface address would hijack that host's traffic.</summary>
    private static void PodIpsNotInfrastructure(List<ParsedPod> pods, List<ParsedNode> nodes, ParsedLocalNode local)
    {
        var infra = new Dictionary<IPAddress, string>();
        foreach (var n in nodes)
            foreach (var ip in n.Spec.InternalIps)
                infra.TryAdd(ip, $"an InternalIP of node {n.Spec.Name}");
        foreach (var i in local.Spec.Interfaces)
            foreach (var a in i.Addresses)
                infra.TryAdd(a.Address, $"an address of interface {i.Name}");

        foreach (var p in pods)
            for (int i = 0; i < p.Spec.Ips.Length; i++)
                if (infra.TryGetValue(p.Spec.Ips[i], out var what))
                    throw new ConfigException(p.IpAt[i], $"pod IP {p.Spec.Ips[i]} is {what}");
    }

    private static void PodIpsInsideNodeCidrs(List<ParsedPod> pods, Dictionary<string, ParsedNode> nodes)
    {
        foreach (var p in pods)
        {
            if (!nodes.TryGetValue(p.Spec.NodeName, out var node) || node.Spec.PodCidrs.IsEmpty)
                continue;
            for (int i = 0; i < p.Spec.Ips.Length; i++)
            {
                var ip = p.Spec.Ips[i];
                if (!node.Spec.PodCidrs.Any(c => c.Contains(ip)))
                    throw new ConfigException(p.IpAt[i],
                        $"pod IP {ip} is not inside the pod CIDRs of node {node.Spec.Name} " +
                        $"({string.Join(", ", node.Spec.PodCidrs)})");
            }
        }
    }

    /// <summary>Local pods share the node's L2 namespace with the router and interface MACs.</summary>
    private static void LocalMacsDistinct(List<ParsedPod> pods, ParsedLocalNode local)
    {
        var macs = new MacRegistry();
        foreach (var (mac, at, owner) in local.Macs)
            macs.Add(mac, at, owner);
        foreach (var p in pods.Where(p => p.Spec.NodeName == local.Spec.Name))
            macs.Add(p.Spec.Mac, p.MacAt, $"pod {p.Spec.Namespace}/{p.Spec.Name}",
                $"pod {p.Spec.Namespace}/{p.Spec.Name}: ");
    }
}
