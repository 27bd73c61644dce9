using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Identity;

namespace Dataplane.Control.Config;

// The Kubernetes objects the dataplane needs, reduced to the fields it uses. Source is the start of the
// YAML document that defined the object.

/// <summary>A Kubernetes Node: where pods live and which pod CIDRs route (or tunnel) to it.</summary>
public sealed record NodeSpec(string Name, ImmutableSortedDictionary<string, string> Labels,
    ImmutableSortedDictionary<string, string> Annotations, ImmutableArray<IPNetwork> PodCidrs,
    ImmutableArray<IPAddress> InternalIps, SourceLocation Source, NodeTunnelSpec? Tunnel = null)
{
    /// <summary>The node's labels as a label set (source <c>k8s</c>), what node selectors match.</summary>
    public LabelSet SelectorLabels() => new(Labels.Select(kv => new Label(Label.SourceK8s, kv.Key, kv.Value)));

    /// <summary>
    /// A node of another Cluster Mesh cluster with overlapping pod CIDRs: its own addresses (host prefixes), routed
    /// through its tunnel like its pod CIDRs — they are where its inter-cluster SNAT puts its clients' connections, so
    /// replies go back through the tunnel (as Cilium routes remote node IPs in tunnel mode). Empty otherwise.
    /// </summary>
    public ImmutableArray<IPNetwork> TunnelledAddresses { get; init; } = [];
}

/// <summary>A Kubernetes Namespace; its labels feed namespace selectors in policy.</summary>
public sealed record NamespaceSpec(string Name, ImmutableSortedDictionary<string, string> Labels,
    SourceLocation Source);

/// <summary>
/// A Kubernetes Pod (an endpoint). <see cref="Mac"/> and <see cref="InterfaceName"/> are the pod-side MAC
/// and the host-side veth name; both are derived deterministically unless the MAC is pinned by the
/// <c>dataplane.io/mac</c> annotation. <see cref="NodeName"/> is empty for an unscheduled pod.
/// </summary>
public sealed record PodSpec(string Namespace, string Name, ImmutableSortedDictionary<string, string> Labels,
    ImmutableSortedDictionary<string, string> Annotations, string NodeName, string ServiceAccount,
    ImmutableArray<IPAddress> Ips, MacAddress Mac, string InterfaceName, SourceLocation Source)
{
    /// <summary>spec.containers[].ports: what a Service's named targetPort and a policy's named port resolve to.</summary>
    public ImmutableArray<ContainerPortSpec> ContainerPorts { get; init; } = [];

    /// <summary>Whether the pod serves: not ended (phase Succeeded/Failed), not being deleted, Ready condition not False.</summary>
    public bool Ready { get; init; } = true;

    /// <summary>
    /// An endpoint whose labels are not known yet (attached by the CNI plugin with no Pod object and no labels):
    /// it has Cilium's reserved:init identity (5) until its labels arrive.
    /// </summary>
    public bool InitIdentity { get; init; }

    /// <summary>metadata.deletionTimestamp is set: it keeps its connections but gets no new ones.</summary>
    public bool Terminating { get; init; }

    /// <summary>Not a pod: the node's L7 proxy, listening on this TCP port of its address (0 = a pod).</summary>
    public ushort L7ProxyPort { get; init; }

    /// <summary>The node's L7 proxy: its DNS proxy's UDP port (0 = none).</summary>
    public ushort L7DnsPort { get; init; }

    /// <summary>The container port named <paramref name="name"/> for <paramref name="protocol"/>, or 0.</summary>
    public ushort NamedPort(string name, byte protocol)
    {
        foreach (var p in ContainerPorts)
            if (p.Name == name && p.Protocol == protocol) return p.Port;
        return 0;
    }
}

/// <summary>One entry of a container's ports (name may be empty).</summary>
public sealed record ContainerPortSpec(string Name, byte Protocol, ushort Port);
