using System.Collections.Immutable;
using System.Net.Sockets;

namespace Dataplane.Control.Config;

/// <summary>
/// What Kubernetes' EndpointSlice controller does for a Service with a <c>selector</c>: the pods of its namespace
/// whose labels match and that have addresses become its endpoints (ready per the pod's Ready condition,
/// terminating while it is being deleted), one slice per address family and per port mapping — a named
/// <c>targetPort</c> resolves on each pod from its container ports, so pods that number the name differently land
/// in different slices, and a pod without the name is left out of that port, as the controller leaves it.
/// Hand-written slices stay as they are (and are all a selector-less service has).
/// </summary>
public static class EndpointSliceController
{
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by", ManagedBy = "dataplane.io";

    public static ImmutableArray<EndpointSliceSpec> Derive(IEnumerable<ServiceSpec> services, IReadOnlyList<PodSpec> pods)
    {
        var slices = ImmutableArray.CreateBuilder<EndpointSliceSpec>();
        foreach (var svc in services)
        {
            if (svc.Selector is not { } selector || svc.Ports.IsEmpty) continue;
            var members = pods.Where(p => p.Namespace == svc.Namespace && p.Ips.Length > 0 && Matches(selector, p.Labels)).ToList();
            foreach (bool v6 in new[] { false, true })
            {
                // Group pods by the ports they give the service's ports; a port they cannot resolve is left out.
                var groups = new Dictionary<string, (List<SlicePortSpec> Ports, List<SliceEndpointSpec> Endpoints)>(StringComparer.Ordinal);
                foreach (var pod in members)
                {
                    var addrs = pod.Ips.Where(ip => (ip.AddressFamily == AddressFamily.InterNetworkV6) == v6).ToImmutableArray();
                    if (addrs.IsEmpty) continue;
                    var ports = new List<SlicePortSpec>();
                    foreach (var sp in svc.Ports)
                    {
                        ushort target = sp.TargetPortName is { } name ? pod.NamedPort(name, sp.Protocol) : sp.TargetPort;
                        if (target != 0) ports.Add(new SlicePortSpec(sp.Name, sp.Protocol, target));
                    }
                    if (ports.Count == 0) continue;
                    string key = string.Join(',', ports.Select(p => $"{p.Name}/{p.Protocol}/{p.Port}"));
                    if (!groups.TryGetValue(key, out var g)) groups[key] = g = (ports, []);
                    g.Endpoints.Add(new SliceEndpointSpec(addrs, pod.Ready && !pod.Terminating, pod.Ready, pod.Terminating, pod.NodeName, pod.Source));
                }
                int n = 0;
                foreach (var (_, (ports, endpoints)) in groups.OrderBy(g => g.Key, StringComparer.Ordinal))
                    slices.Add(new EndpointSliceSpec(svc.Namespace, $"{svc.Name}-{(v6 ? "v6" : "v4")}-{n++}", svc.Name, v6,
                        [.. endpoints], [.. ports], svc.Source));
            }
        }
        return slices.ToImmutable();
    }

    private static bool Matches(ImmutableSortedDictionary<string, string> selector, ImmutableSortedDictionary<string, string> labels)
    {
        foreach (var (k, v) in selector)
            if (!labels.TryGetValue(k, out var have) || have != v) return false;
        return true;
    }
}
