using System.Collections.Immutable;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Text;
using Dataplane.Core.Routing;

namespace Dataplane.Control.Config;

/// <summary>
/// What the API server allocates and a manifest leaves out: cluster IPs from the ServiceCIDRs (networking.k8s.io
/// ServiceCIDR; one per family, the first listed is the primary family), per ipFamilyPolicy — SingleStack takes
/// the first of ipFamilies or the primary family, PreferDualStack every family there is a CIDR for, RequireDualStack
/// both or an error — and node ports (type NodePort) from 30000–32767. Like LB-IPAM, the result is a function of
/// the configuration, so restarts and reloads give every service the same addresses: the service's name hashes to
/// a preferred address (or port) and the first free one from there is taken, services in namespace/name order.
/// Addresses and ports any manifest names, the network address, the IPv4 broadcast address and every pod, node
/// and interface address are never handed out.
/// </summary>
public static class ServiceIpam
{
    public static ImmutableArray<ServiceSpec> Allocate(ImmutableArray<ServiceSpec> services, IReadOnlyList<ServiceCidrSpec> cidrs,
        IEnumerable<IPAddress> reserved)
    {
        if (!services.Any(s => s.ClusterIpRequest is not null || NeedsNodePort(s))) return services;
        var taken = new HashSet<IPAddress>(reserved);
        var takenPorts = new HashSet<(ushort, byte)>();
        foreach (var s in services)
        {
            foreach (var ip in s.ClusterIps.Concat(s.ExternalIps).Concat(s.LoadBalancerIps)) taken.Add(ip);
            foreach (var p in s.Ports) if (p.NodePort != 0) takenPorts.Add((p.NodePort, p.Protocol));
        }
        var byFamily = cidrs.SelectMany(c => c.Cidrs.Select(n => (Net: n, c.Source))).ToList();
        var result = services.ToBuilder();
        var order = Enumerable.Range(0, services.Length)
            .OrderBy(i => services[i].Namespace, StringComparer.Ordinal).ThenBy(i => services[i].Name, StringComparer.Ordinal);
        foreach (int i in order)
        {
            var svc = result[i];
            if (svc.ClusterIpRequest is { } req)
                svc = svc with { ClusterIps = [.. Families(svc, req, byFamily).Select(n => Take(svc, n, taken))], ClusterIpRequest = null };
            if (NeedsNodePort(svc))
                svc = svc with { Ports = [.. svc.Ports.Select(p => p.NodePort != 0 ? p : p with { NodePort = TakePort(svc, p, takenPorts) })] };
            result[i] = svc;
        }
        return result.MoveToImmutable();
    }

    private static bool NeedsNodePort(ServiceSpec s) => s.Type == ServiceType.NodePort && s.Ports.Any(p => p.NodePort == 0);

    private static IEnumerable<IPNetwork> Families(ServiceSpec svc, ClusterIpRequest req, List<(IPNetwork Net, SourceLocation Source)> cidrs)
    {
        if (cidrs.Count == 0)
            throw new ConfigException(req.Source,
                $"service {svc.QualifiedName} has no spec.clusterIP and there is no ServiceCIDR (networking.k8s.io/v1) to allocate one from");
        IPNetwork? Of(AddressFamily f) => cidrs.Where(c => c.Net.BaseAddress.AddressFamily == f).Select(c => (IPNetwork?)c.Net).FirstOrDefault();
        var wanted = req.Families.IsEmpty ? [.. cidrs.Select(c => c.Net.BaseAddress.AddressFamily).Distinct()] : req.Families.ToList();
        if (req.Policy == IpFamilyPolicy.SingleStack) wanted = [wanted[0]];
        else if (wanted.Count == 1) wanted.Add(wanted[0] == AddressFamily.InterNetwork ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        var nets = new List<IPNetwork>();
        foreach (var f in wanted)
        {
            if (Of(f) is { } net) nets.Add(net);
            else if (req.Policy == IpFamilyPolicy.RequireDualStack || nets.Count == 0)
                throw new ConfigException(req.Source,
                    $"service {svc.QualifiedName} needs an {(f == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} cluster IP and no ServiceCIDR has that family");
        }
        return nets;
    }

    private static IPAddress Take(ServiceSpec svc, IPNetwork net, HashSet<IPAddress> taken)
    {
        bool v4 = net.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        int hostBits = (v4 ? 32 : 128) - net.PrefixLength;
        UInt128 size = hostBits >= 128 ? UInt128.MaxValue : (UInt128)1 << hostBits;
        // The network address is never handed out, nor IPv4's broadcast address.
        UInt128 usable = size - (v4 ? 2u : 1u);
        if (size < 4) throw new ConfigException(svc.Source, $"ServiceCIDR {net} is too small to allocate from");
        UInt128 first = (v4 ? RoutePrefix.ToUInt32(net.BaseAddress) : RoutePrefix.ToUInt128(net.BaseAddress)) + 1;
        UInt128 start = Hash($"{svc.Namespace}/{svc.Name}") % usable;
        UInt128 limit = usable < 1_000_000 ? usable : 1_000_000;   // bounded probing: a full range is an error, not a hang
        for (UInt128 k = 0; k < limit; k++)
        {
            UInt128 raw = first + (start + k) % usable;
            var ip = v4 ? RoutePrefix.ToAddress((uint)raw) : RoutePrefix.ToAddress(raw);
            if (taken.Add(ip)) return ip;
        }
        throw new ConfigException(svc.Source, $"service {svc.QualifiedName}: ServiceCIDR {net} has no free address");
    }

    private static ushort TakePort(ServiceSpec svc, ServicePortSpec port, HashSet<(ushort, byte)> taken)
    {
        const int min = ServiceParser.NodePortMin, count = ServiceParser.NodePortMax - ServiceParser.NodePortMin + 1;
        int start = (int)(Hash($"{svc.Namespace}/{svc.Name}:{port.Name}:{port.Port}") % count);
        for (int k = 0; k < count; k++)
        {
            var candidate = (ushort)(min + (start + k) % count);
            if (taken.Add((candidate, port.Protocol))) return candidate;
        }
        throw new ConfigException(port.Source, $"service {svc.QualifiedName}: every node port of 30000-32767 is taken");
    }

    private static UInt128 Hash(string key) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key));
}
