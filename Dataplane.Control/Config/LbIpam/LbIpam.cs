using System.Collections.Immutable;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataplane.Core.Identity;

namespace Dataplane.Control.Config;

/// <summary>
/// LB-IPAM (Cilium's CiliumLoadBalancerIPPool): gives every <c>type: LoadBalancer</c> service without an ingress
/// address one per IP family it has (the families of its cluster IPs; IPv4 when headless) from the enabled pools
/// whose serviceSelector matches it. The address is a pure function of the configuration, so a restart or a
/// reload gives every service the same one: the service's name hashes to a preferred slot among the pools' addresses
/// (pools by name, blocks in order) and the first free address from there is taken, services in namespace/name
/// order. Addresses any service already holds (cluster, external or ingress IPs) and pod, node and interface
/// addresses are never handed out. A service
/// that finds no free address stays without one and is listed as pending, as Cilium leaves it pending.
/// </summary>
public static class LbIpam
{
    public const string ServiceNameLabel = "io.kubernetes.service.name", ServiceNamespaceLabel = "io.kubernetes.service.namespace";

    public sealed record Result(ImmutableArray<ServiceSpec> Services, ImmutableArray<LbIpAllocation> Allocations, ImmutableArray<LbIpPending> Pending);

    /// <param name="services">Every service, in source order (the result keeps it).</param>
    /// <param name="pools">The pools.</param>
    /// <param name="reserved">Addresses that are not free either: pods', nodes' and this node's interfaces'.</param>
    public static Result Allocate(ImmutableArray<ServiceSpec> services, ImmutableArray<LbIpPoolSpec> pools, IEnumerable<IPAddress>? reserved = null)
    {
        if (pools.IsDefaultOrEmpty) return new Result(services, [], []);
        var taken = new HashSet<IPAddress>(reserved ?? []);
        foreach (var s in services)
            foreach (var ip in s.ClusterIps.Concat(s.ExternalIps).Concat(s.LoadBalancerIps)) taken.Add(ip);

        var allocations = ImmutableArray.CreateBuilder<LbIpAllocation>();
        var pending = ImmutableArray.CreateBuilder<LbIpPending>();
        var updated = services.ToBuilder();
        var order = Enumerable.Range(0, services.Length)
            .Where(i => services[i].Type == ServiceType.LoadBalancer)
            .OrderBy(i => services[i].Namespace, StringComparer.Ordinal).ThenBy(i => services[i].Name, StringComparer.Ordinal);
        var sortedPools = pools.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        foreach (int i in order)
        {
            var svc = services[i];
            var labels = SelectorLabels(svc);
            var got = new List<IPAddress>();
            foreach (var family in Families(svc))
            {
                if (svc.LoadBalancerIps.Any(ip => ip.AddressFamily == family)) continue;
                var ranges = new List<(UInt128 First, UInt128 Count, string Pool)>();
                foreach (var pool in sortedPools)
                {
                    if (pool.Disabled || (pool.ServiceSelector is { } sel && !sel.Matches(labels))) continue;
                    foreach (var block in pool.Blocks.Where(b => b.First.AddressFamily == family))
                        ranges.Add(Usable(block, pool));
                }
                string fam = family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
                if (ranges.Count == 0)
                {
                    pending.Add(new LbIpPending(svc.Namespace, svc.Name, $"no enabled pool with {fam} blocks selects the service"));
                    continue;
                }
                if (Pick(svc, family, ranges, taken) is { } pick)
                {
                    taken.Add(pick.Ip);
                    got.Add(pick.Ip);
                    allocations.Add(new LbIpAllocation(svc.Namespace, svc.Name, pick.Ip, pick.Pool));
                }
                else
                {
                    pending.Add(new LbIpPending(svc.Namespace, svc.Name, $"the pools that select it have no free {fam} address"));
                }
            }
            if (got.Count > 0) updated[i] = svc with { LoadBalancerIps = svc.LoadBalancerIps.AddRange(got) };
        }
        return new Result(updated.ToImmutable(), allocations.ToImmutable(), pending.ToImmutable());
    }

    /// <summary>The service's labels plus the pseudo-labels Cilium lets selectors name it by.</summary>
    public static LabelSet SelectorLabels(ServiceSpec svc) => new(svc.Labels
        .Select(kv => new Label(Label.SourceK8s, kv.Key, kv.Value))
        .Append(new Label(Label.SourceK8s, ServiceNameLabel, svc.Name))
        .Append(new Label(Label.SourceK8s, ServiceNamespaceLabel, svc.Namespace)));

    private static IEnumerable<AddressFamily> Families(ServiceSpec svc) =>
        svc.ClusterIps.IsEmpty ? [AddressFamily.InterNetwork] : svc.ClusterIps.Select(ip => ip.AddressFamily).Distinct();

    /// <summary>A block's allocatable addresses: without the first and last of a CIDR when the pool says so
    /// (except /31, /32, /127, /128, which would be left empty). Counts saturate rather than overflow.</summary>
    private static (UInt128 First, UInt128 Count, string Pool) Usable(LbIpBlockSpec block, LbIpPoolSpec pool)
    {
        UInt128 first = LbIpRange.ToNumber(block.First), last = LbIpRange.ToNumber(block.Last);
        if (block.FromCidr && !pool.AllowFirstLastIps && last - first >= 2) { first++; last--; }
        UInt128 span = last - first;
        return (first, span == UInt128.MaxValue ? span : span + 1, pool.Name);
    }

    private static (IPAddress Ip, string Pool)? Pick(ServiceSpec svc, AddressFamily family,
        List<(UInt128 First, UInt128 Count, string Pool)> ranges, HashSet<IPAddress> taken)
    {
        UInt128 total = 0;
        foreach (var r in ranges) total = UInt128.MaxValue - total < r.Count ? UInt128.MaxValue : total + r.Count;
        var hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes($"{svc.Namespace}/{svc.Name}/{family}"));
        UInt128 start = hash % total;
        // At most taken.Count addresses are in use, so taken.Count + 1 consecutive slots hold a free one if any exists.
        UInt128 probes = UInt128.Min(total, (UInt128)taken.Count + 1);
        for (UInt128 k = 0; k < probes; k++)
        {
            UInt128 index = (start + k) % total;   // start < total, so the sum overflows only when total is near 2^128
            foreach (var r in ranges)
            {
                if (index >= r.Count) { index -= r.Count; continue; }
                var ip = LbIpRange.FromNumber(r.First + index, family);
                if (!taken.Contains(ip)) return (ip, r.Pool);
                break;
            }
        }
        return null;
    }
}
