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
    ImmutableArray<IPAddress> Ips, MacAddress Mac, string InterfaceName, SourceLocation Source);
