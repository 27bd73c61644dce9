using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;
using Dataplane.Core.Nat;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Core.EgressGateway;

namespace Dataplane.Control.Compiler;

/// <summary>
/// CiliumEgressGatewayPolicies → <see cref="EgressGatewayState"/> for this node. Source pods are matched on any
/// node (the gateway SNATs traffic tunnelled from elsewhere) by their identity labels. Gateways:
/// spec.egressGateway is, as in OSS Cilium, one node — the first matching node by name that is not down;
/// every entry of spec.egressGateways contributes every matching node. A node is down while it carries the label
/// <see cref="DownLabel"/>: "true"; its flows move to the remaining gateways. Each remote gateway gets a Tunnel
/// next hop toward its first IPv4 InternalIP.
/// </summary>
public static class EgressGatewayCompiler
{
    /// <summary>Node label that takes a node out of every gateway set (e.g. for maintenance or failed health checks).</summary>
    public const string DownLabel = "egress.dataplane.io/down";

    public const int MaxPolicies = 64;

    public static bool IsDown(NodeSpec node) => node.Labels.TryGetValue(DownLabel, out var v) && v == "true";

    public static EgressGatewayState Compile(ConfigModel model, SnapshotBuilder builder)
    {
        var specs = model.EgressGatewayPolicies;
        if (specs.IsEmpty) return EgressGatewayState.Empty;
        if (specs.Length > MaxPolicies)
            throw new ConfigException(specs[MaxPolicies].Source, $"at most {MaxPolicies} CiliumEgressGatewayPolicies are supported");
        var nsLabels = model.Namespaces.ToDictionary(n => n.Name, n => n.Labels, StringComparer.Ordinal);
        var podLabels = model.Pods.Select(p => (Pod: p, Labels: IdentityLabels.ForPod(p.Labels, p.Namespace, p.ServiceAccount, nsLabels.GetValueOrDefault(p.Namespace)))).ToList();
        var nodes = model.Nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        var sources = new Dictionary<(UInt128, byte), ulong>();
        var policies = new EgressPolicy[specs.Length];
        for (int i = 0; i < specs.Length; i++)
        {
            var spec = specs[i];
            foreach (var (pod, labels) in podLabels)
            {
                if (!spec.Selectors.Any(s => s.Pods.Matches(labels))) continue;
                foreach (var ip in pod.Ips.Where(a => a.AddressFamily == AddressFamily.InterNetwork))
                {
                    var k = ((UInt128)RoutePrefix.ToUInt32(ip), (byte)4);
                    sources[k] = sources.GetValueOrDefault(k) | (1UL << i);
                }
            }
            policies[i] = new EgressPolicy(spec.Name, new CidrList(spec.DestinationCidrs), new CidrList(spec.ExcludedCidrs),
                Gateways(spec, nodes, model.Local, builder));
        }
        return new EgressGatewayState(new AddressMap(sources), policies);
    }

    private static Gateway[] Gateways(EgressGatewayPolicySpec spec, List<NodeSpec> nodes, LocalNodeSpec local, SnapshotBuilder builder)
    {
        var result = new List<Gateway>();
        for (int gi = 0; gi < spec.Gateways.Length; gi++)
        {
            var g = spec.Gateways[gi];
            var matched = nodes.Where(n => g.NodeSelector.Matches(n.SelectorLabels())).ToList();
            // The first entry is spec.egressGateway when present: one node, as OSS Cilium.
            if (gi == 0 && spec.SingleGateway) matched = matched.Where(n => !IsDown(n)).Take(1).ToList();
            foreach (var node in matched)
            {
                if (result.Any(r => r.Node == node.Name)) continue;
                var nodeIp = node.InternalIps.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                    ?? throw new ConfigException(g.Source, $"CiliumEgressGatewayPolicy {spec.Name}: gateway node {node.Name} has no IPv4 InternalIP");
                bool isLocal = node.Name == local.Name;
                UInt128 egressIp = 0;
                if (g.EgressIp != null) egressIp = RoutePrefix.ToUInt32(g.EgressIp);
                else if (g.Interface != null && isLocal)
                {
                    var itf = local.Interfaces.FirstOrDefault(x => x.Name == g.Interface)
                        ?? throw new ConfigException(g.Source, $"CiliumEgressGatewayPolicy {spec.Name}: interface {g.Interface} is not an interface of this node");
                    var a = itf.Addresses.Where(x => x.Address.AddressFamily == AddressFamily.InterNetwork).Select(x => x.Address).FirstOrDefault()
                        ?? throw new ConfigException(g.Source, $"CiliumEgressGatewayPolicy {spec.Name}: interface {g.Interface} has no IPv4 address");
                    egressIp = RoutePrefix.ToUInt32(a);
                }
                uint nh = isLocal ? 0 : builder.AddNextHop(new NextHop(NextHopKind.Tunnel, 0, 0, 0, 0, RoutePrefix.ToUInt32(nodeIp)));
                uint seed = XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(node.Name));
                result.Add(new Gateway(node.Name, RoutePrefix.ToUInt32(nodeIp), egressIp, nh, seed, isLocal, !IsDown(node)));
            }
        }
        return [.. result];
    }
}
