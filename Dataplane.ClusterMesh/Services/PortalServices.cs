using Dataplane.Control.Config;

namespace Dataplane.ClusterMesh.Services;

/// <summary>
/// Portal services: a <c>type: LoadBalancer</c> Service that is global (<c>service.cilium.io/global: "true"</c>, or
/// the older <c>io.cilium/global-service</c>) and marked <c>io.cilium/portal: "true"</c> is served by the transit
/// gateway to the on-prem networks: its LoadBalancer VIP (spec.loadBalancerIP, status, or LB-IPAM) becomes a
/// frontend there, announced by the gateway's BGP (a Service advertisement selecting it), balanced with Maglev over
/// the backends of every cluster (<see cref="GlobalServiceMerge"/> adds the remote ones) and carried over the overlay
/// to the backend's node. A gateway hosts no pods and is nobody's node port, so every other service keeps only
/// its ClusterIPs there, NodePorts go, and a portal service's externalTrafficPolicy Local (no local backend can
/// exist on a gateway) is served as Cluster. A portal service is balanced with Maglev whatever the DataplaneNode's
/// default (only its own <c>service.cilium.io/lb-algorithm: random</c> annotation says otherwise): two gateways
/// serving it must pick the same backend for a flow, so a flow the on-prem router moves to the other keeps it.
/// </summary>
public static class PortalServices
{
    public const string PortalKey = "io.cilium/portal";

    public static bool IsPortal(ServiceSpec svc) =>
        svc.Type == ServiceType.LoadBalancer
        && GlobalServiceAnnotations.From(svc.Annotations).Global
        && svc.Annotations.TryGetValue(PortalKey, out var v) && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The model's services as a transit gateway serves them (the model otherwise unchanged).</summary>
    public static ConfigModel OnGateway(ConfigModel model)
    {
        if (model.Services.IsEmpty) return model;
        var services = model.Services.ToBuilder();
        for (int i = 0; i < services.Count; i++)
        {
            var svc = services[i];
            System.Collections.Immutable.ImmutableArray<ServicePortSpec> ports = svc.Ports.Any(p => p.NodePort != 0) ? [.. svc.Ports.Select(p => p with { NodePort = 0 })] : svc.Ports;
            services[i] = IsPortal(svc)
                ? svc with { Ports = ports, ExternalTrafficLocal = false, Algorithm = svc.Algorithm == LbAlgorithm.Default ? LbAlgorithm.Maglev : svc.Algorithm }
                : svc with { Ports = ports, LoadBalancerIps = [], ExternalIps = [] };
        }
        return model with { Services = services.ToImmutable() };
    }
}
