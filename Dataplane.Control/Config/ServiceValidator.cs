using System.Net;
using Dataplane.Core.Parsing;

namespace Dataplane.Control.Config;

/// <summary>
/// Whole-model rules for services, endpoint slices and egress gateway policies: no two services share a frontend
/// (address, port, protocol) or a node port, no frontend address is a pod's or a node's, and an egressIP names one node's address so it selects exactly one node.
/// </summary>
internal static class ServiceValidator
{
    public static void Validate(ModelBuilder m, LocalNodeSpec local)
    {
        FrontendsUnique(m, local);
        EgressIpsSelectOneNode(m);
    }

    private static void FrontendsUnique(ModelBuilder m, LocalNodeSpec local)
    {
        var taken = new Dictionary<(IPAddress, ushort, byte), ServiceSpec>();
        var nodePorts = new Dictionary<(ushort, byte), ServiceSpec>();
        var infra = new Dictionary<IPAddress, string>();
        foreach (var p in m.Pods) foreach (var ip in p.Spec.Ips) infra.TryAdd(ip, $"the IP of pod {p.Spec.Namespace}/{p.Spec.Name}");
        foreach (var n in m.Nodes) foreach (var ip in n.Spec.InternalIps) infra.TryAdd(ip, $"an InternalIP of node {n.Spec.Name}");
        foreach (var i in local.Interfaces) foreach (var a in i.Addresses) infra.TryAdd(a.Address, $"an address of interface {i.Name}");
        foreach (var s in m.Services)
        {
            foreach (var ip in s.ClusterIps.Concat(s.ExternalIps).Concat(s.LoadBalancerIps))
            {
                if (infra.TryGetValue(ip, out var what))
                    throw new ConfigException(s.Source, $"service {s.QualifiedName}: frontend address {ip} is {what}");
                foreach (var port in s.Ports)
                {
                    if (taken.TryGetValue((ip, port.Port, port.Protocol), out var other))
                        throw new ConfigException(port.Source,
                            $"service {s.QualifiedName}: frontend {ip}:{port.Port}/{ProtoName(port.Protocol)} is already used by service {other.QualifiedName} (at {other.Source})");
                    taken[(ip, port.Port, port.Protocol)] = s;
                }
            }
            foreach (var port in s.Ports)
            {
                if (port.NodePort == 0) continue;
                if (nodePorts.TryGetValue((port.NodePort, port.Protocol), out var other))
                    throw new ConfigException(port.Source,
                        $"service {s.QualifiedName}: nodePort {port.NodePort}/{ProtoName(port.Protocol)} is already used by service {other.QualifiedName} (at {other.Source})");
                nodePorts[(port.NodePort, port.Protocol)] = s;
            }
        }
    }

    private static void EgressIpsSelectOneNode(ModelBuilder m)
    {
        foreach (var p in m.EgressPolicies)
            foreach (var g in p.Gateways)
            {
                if (g.EgressIp is null) continue;
                var matched = m.Nodes.Where(n => g.NodeSelector.Matches(n.Spec.SelectorLabels())).ToList();
                if (matched.Count > 1)
                    throw new ConfigException(g.Source,
                        $"CiliumEgressGatewayPolicy {p.Name}: egressIP {g.EgressIp} is one node's address but the nodeSelector matches {matched.Count} nodes ({string.Join(", ", matched.Select(n => n.Spec.Name))})");
            }
    }

    public static string ProtoName(byte proto) => proto switch
    {
        IpProtocols.Tcp => "TCP",
        IpProtocols.Udp => "UDP",
        IpProtocols.Sctp => "SCTP",
        _ => proto.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
