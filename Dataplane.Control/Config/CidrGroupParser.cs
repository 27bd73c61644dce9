using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Identity;

namespace Dataplane.Control.Config;

/// <summary>
/// A <c>CiliumCIDRGroup</c> (cluster-scoped): named prefixes outside the cluster that policies reference with
/// <c>cidrGroupRef</c> (by name) or <c>cidrGroupSelector</c> (by the group's labels) instead of repeating them.
/// </summary>
public sealed record CidrGroupSpec(string Name, ImmutableSortedDictionary<string, string> Labels,
    ImmutableArray<IPNetwork> Cidrs, SourceLocation Source)
{
    /// <summary>The group's metadata labels as a label set (source <c>cidrgroup</c>), what cidrGroupSelector matches.</summary>
    public LabelSet SelectorLabels() => new(Labels.Select(kv => new Label(Label.SourceCidrGroup, kv.Key, kv.Value)));
}

/// <summary><c>cilium.io/v2alpha1</c> (and <c>v2</c>) <c>CiliumCIDRGroup</c>: spec.externalCIDRs, a list of prefixes.</summary>
internal static class CidrGroupParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("externalCIDRs");
        var cidrs = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var item in spec.Get("externalCIDRs").Items())
        {
            // As in policy CIDRs, a bare address is its host prefix.
            var text = item.String();
            var cidr = !text.Contains('/') && IpText.TryParseAddress(text, out var ip)
                ? new IPNetwork(ip, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
                : item.Cidr();
            if (!cidrs.Contains(cidr)) cidrs.Add(cidr);
        }
        into.CidrGroups.Add(new CidrGroupSpec(doc.Name, MetadataReader.Labels(doc), cidrs.ToImmutable(), doc.Source));
    }
}
