using System.Collections.Immutable;
using System.Net;
using Dataplane.Control.Config;
using Dataplane.Node.Api;

namespace Dataplane.Node.Endpoints;

/// <summary>
/// Adds the endpoints registered through the API to a validated model. A registration for a Pod the YAML also
/// names (same namespace/name) takes that Pod's labels, annotations and service account and supplies what only
/// the CNI plugin knows: the real host interface, MAC and addresses. Other registrations become pods of
/// their own on this node, with the labels the runtime sent (none: reserved:init, see <see cref="PodSpec.InitIdentity"/>). The rules the YAML validator applies to pods'
/// addresses (unique, inside this node's pod CIDRs) are checked here for registered ones.
/// </summary>
public static class EndpointMerger
{
    public static ConfigModel Merge(ConfigModel model, IReadOnlyList<EndpointRegistration> registrations, string stateDir)
    {
        if (registrations.Count == 0) return model;
        var local = model.LocalNode;
        var pods = model.Pods.ToList();
        var owners = new Dictionary<IPAddress, string>();
        foreach (var p in pods)
            foreach (var ip in p.Ips) owners[ip] = $"{p.Namespace}/{p.Name}";

        var registered = new Dictionary<(string, string), EndpointRegistration>();
        foreach (var r in registrations)
        {
            var at = new SourceLocation(Path.Combine(stateDir, "endpoints", $"{r.ContainerId}/{r.IfName}"), 0, 0);
            // One endpoint per pod: a second sandbox (or interface) of the same pod waits until the first is deleted.
            if (registered.TryGetValue((r.Namespace, r.Name), out var first))
                throw new ConfigException(at, $"endpoint {r.Namespace}/{r.Name} is already attached as {first.ContainerId}/{first.IfName}");
            registered[(r.Namespace, r.Name)] = r;
            var ips = r.Ips.Select(IPAddress.Parse).ToImmutableArray();
            if (!MacAddress.TryParse(r.Mac, out var mac))
                throw new ConfigException(at, $"endpoint {r.Namespace}/{r.Name}: '{r.Mac}' is not a MAC address");
            int yaml = pods.FindIndex(p => p.Namespace == r.Namespace && p.Name == r.Name);
            PodSpec pod;
            if (yaml >= 0)
            {
                var y = pods[yaml];
                foreach (var ip in y.Ips) owners.Remove(ip);
                pod = y with { NodeName = local.Name, Ips = ips, Mac = mac, InterfaceName = r.HostInterface };
                pods.RemoveAt(yaml);
            }
            else
            {
                // No Pod object and no labels from the runtime: the endpoint's identity is not resolved yet, which
                // Cilium calls reserved:init (policies can select it; it gets its real identity once labelled).
                pod = new PodSpec(r.Namespace, r.Name, r.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
                    ImmutableSortedDictionary<string, string>.Empty, local.Name, "default", ips, mac, r.HostInterface, at)
                { InitIdentity = r.Labels.Count == 0 };
            }
            foreach (var ip in ips)
            {
                if (owners.TryGetValue(ip, out var owner))
                    throw new ConfigException(at, $"endpoint {r.Namespace}/{r.Name}: IP {ip} is already used by pod {owner}");
                if (!local.PodCidrs.Any(c => c.Contains(ip)))
                    throw new ConfigException(at, $"endpoint {r.Namespace}/{r.Name}: IP {ip} is not inside the pod CIDRs of node {local.Name} " +
                        $"({string.Join(", ", local.PodCidrs)})");
                owners[ip] = $"{r.Namespace}/{r.Name}";
            }
            pods.Add(pod);
        }
        return model with { Pods = [.. pods] };
    }
}
