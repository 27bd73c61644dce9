// Shared source: compiled into dataplane-node (server) and dataplane-cni (client), so both sides agree on the wire.
namespace Dataplane.Node.Api;

/// <summary>
/// A pod's interface as the CNI plugin created it. Key: (ContainerId, IfName), as CNI keys attachments.
/// Labels come from the CNI runtime (args.cni.labels) when it knows them; the agent adds the YAML Pod's labels
/// when a Pod of the same namespace/name is in the config directory.
/// </summary>
public sealed record EndpointRegistration(
    string ContainerId,
    string IfName,
    string Namespace,
    string Name,
    Dictionary<string, string> Labels,
    string Netns,
    string HostInterface,
    string Mac,
    List<string> Ips);

/// <summary>What the agent answers a registration with: the identity the endpoint got, the labels it was given.</summary>
public sealed record EndpointResult(string Namespace, string Name, string HostInterface, uint Identity,
    Dictionary<string, string> Labels, long Generation);

/// <summary>The node as the agent sees it: what the CNI plugin needs to address a pod.</summary>
public sealed record NodeInfo(string Name, List<string> PodCidrs, string RouterMac, long Generation);
