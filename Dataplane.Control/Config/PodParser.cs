using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Dataplane.Control.Config;

/// <summary>
/// Kubernetes <c>v1 Pod</c>: identity-relevant metadata, placement (spec.nodeName), service account and
/// addresses (status.podIPs and/or status.podIP). MAC and host interface name are derived here.
/// </summary>
public static class PodParser
{
    /// <summary>Pins the pod's MAC instead of deriving it, e.g. to match an existing veth.</summary>
    public const string MacAnnotation = "dataplane.io/mac";

    internal static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var annotations = MetadataReader.Annotations(doc);

        string nodeName = "";
        var nodeNameAt = doc.Source;
        string serviceAccount = "default";
        if (doc.Root.TryGet("spec", out var spec))
        {
            if (spec.TryGet("nodeName", out var n))
            {
                nodeName = n.String();
                nodeNameAt = n.At;
            }
            serviceAccount = spec.OptString("serviceAccountName") ?? serviceAccount;
        }

        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        var ipAt = ImmutableArray.CreateBuilder<SourceLocation>();
        if (doc.Root.TryGet("status", out var status))
            ReadIps(status, ips, ipAt);

        var seed = $"{doc.Namespace}/{doc.Name}";
        var mac = MacAddress.Derive(seed);
        var macAt = doc.Source;
        if (doc.Metadata.TryGet("annotations", out var annNode) && annNode.TryGet(MacAnnotation, out var macNode))
        {
            mac = macNode.Mac();
            macAt = macNode.At;
        }

        var pod = new PodSpec(doc.Namespace, doc.Name, MetadataReader.Labels(doc), annotations, nodeName,
            serviceAccount, ips.ToImmutable(), mac, InterfaceName(doc.Namespace, doc.Name), doc.Source);
        into.Pods.Add(new ParsedPod(pod, nodeNameAt, ipAt.ToImmutable(), macAt));
    }

    /// <summary>
    /// Host-side veth name: "lxc" + the first 12 hex digits of SHA-256("namespace/name"), 15 characters in
    /// all, the most Linux allows (IFNAMSIZ 16 with the NUL). Same shape as Cilium's endpoint devices, so
    /// existing tooling recognises them.
    /// </summary>
    public static string InterfaceName(string ns, string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{ns}/{name}"));
        return "lxc" + Convert.ToHexStringLower(hash)[..12];
    }

    private static void ReadIps(YNode status, ImmutableArray<IPAddress>.Builder ips,
        ImmutableArray<SourceLocation>.Builder at)
    {
        if (status.TryGet("podIPs", out var list))
        {
            foreach (var item in list.Items())
            {
                var ipNode = item.Get("ip");
                var ip = ipNode.Ip();
                if (ips.Contains(ip))
                    throw ipNode.Error($"duplicate pod IP {ip}");
                ips.Add(ip);
                at.Add(ipNode.At);
            }
        }

        // Like podCIDR on Node, podIP is the legacy single-value copy of podIPs[0].
        if (status.TryGet("podIP", out var single))
        {
            var ip = single.Ip();
            if (ips.Count == 0)
            {
                ips.Add(ip);
                at.Add(single.At);
            }
            else if (!ips[0].Equals(ip))
            {
                throw single.Error($"status.podIP {ip} must equal status.podIPs[0].ip ({ips[0]})");
            }
        }
    }
}
