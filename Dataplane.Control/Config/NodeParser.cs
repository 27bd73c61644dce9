using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// Kubernetes <c>v1 Node</c>: name, labels, annotations, pod CIDRs (spec.podCIDRs and/or the legacy
/// spec.podCIDR) and the InternalIP addresses from status.addresses.
/// </summary>
internal static class NodeParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var cidrs = ImmutableArray.CreateBuilder<IPNetwork>();
        var cidrAt = ImmutableArray.CreateBuilder<SourceLocation>();
        if (doc.Root.TryGet("spec", out var spec))
            ReadPodCidrs(spec, cidrs, cidrAt);

        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        var ipAt = ImmutableArray.CreateBuilder<SourceLocation>();
        if (doc.Root.TryGet("status", out var status) && status.TryGet("addresses", out var addresses))
        {
            foreach (var a in addresses.Items())
            {
                // Hostname/ExternalIP/ExternalDNS entries are not used by the dataplane and Hostname is
                // not even an IP, so only InternalIP values are parsed.
                if (a.RequiredString("type") != "InternalIP")
                    continue;
                var address = a.Get("address");
                var ip = address.Ip();
                if (ips.Contains(ip))
                    throw address.Error($"duplicate InternalIP {ip}");
                ips.Add(ip);
                ipAt.Add(address.At);
            }
        }

        CiliumAddressAnnotations(doc);
        into.Nodes.Add(new ParsedNode(
            new NodeSpec(doc.Name, MetadataReader.Labels(doc), MetadataReader.Annotations(doc),
                cidrs.ToImmutable(), ips.ToImmutable(), doc.Source, OverlayParser.NodeAnnotations(doc)),
            cidrAt.ToImmutable(), ipAt.ToImmutable()));
    }

    /// <summary>
    /// Cilium's per-node address annotations (health endpoint, ingress proxy, cilium_host router) become ipcache
    /// entries with reserved identities; a value that is no address is an error at its line, not a silent gap.
    /// The WireGuard public key annotation must be a key, for the same reason.
    /// </summary>
    private static void CiliumAddressAnnotations(ConfigDocument doc)
    {
        if (!doc.Metadata.TryGet("annotations", out var annotations)) return;
        foreach (var (k, v) in annotations.Entries())
        {
            var key = k.String();
            if (key == EncryptionSpec.PublicKeyAnnotation)
            {
                if (!IsWireGuardKey(v.String()))
                    throw v.Error($"{key} must be a base64 WireGuard public key (32 bytes)");
                continue;
            }
            if (!key.StartsWith("network.cilium.io/", StringComparison.Ordinal) && !key.StartsWith("io.cilium.network.", StringComparison.Ordinal))
                continue;
            if (key.EndsWith("-health-ip", StringComparison.Ordinal) || key.EndsWith("-Ingress-ip", StringComparison.Ordinal)
                || key.EndsWith("-cilium-host", StringComparison.Ordinal))
                v.Ip();
        }
    }

    private static bool IsWireGuardKey(string text)
    {
        Span<byte> raw = stackalloc byte[48];
        return Convert.TryFromBase64String(text.Trim(), raw, out int n) && n == 32;
    }

    private static void ReadPodCidrs(YNode spec, ImmutableArray<IPNetwork>.Builder cidrs,
        ImmutableArray<SourceLocation>.Builder at)
    {
        if (spec.TryGet("podCIDRs", out var list))
        {
            foreach (var item in list.Items())
            {
                var cidr = item.Cidr();
                foreach (var earlier in cidrs)
                    if (IpText.Overlaps(earlier, cidr))
                        throw item.Error($"pod CIDR {cidr} overlaps {earlier} of the same node");
                cidrs.Add(cidr);
                at.Add(item.At);
            }
        }

        // Kubernetes keeps podCIDR as a copy of podCIDRs[0]; accept either alone, and insist they agree
        // when both are written so an edit to one but not the other is caught.
        if (spec.TryGet("podCIDR", out var single))
        {
            var cidr = single.Cidr();
            if (cidrs.Count == 0)
            {
                cidrs.Add(cidr);
                at.Add(single.At);
            }
            else if (!cidrs[0].Equals(cidr))
            {
                throw single.Error($"spec.podCIDR {cidr} must equal spec.podCIDRs[0] ({cidrs[0]})");
            }
        }
    }
}
