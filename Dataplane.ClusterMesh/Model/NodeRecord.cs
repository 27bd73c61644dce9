using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.ClusterMesh.Model;

/// <summary>
/// A node as Cilium publishes it at <c>cilium/state/nodes/v1/&lt;cluster&gt;/&lt;node&gt;</c> (pkg/node/types
/// Node, a stable JSON API). Remote nodes are the tunnel endpoints toward their pod CIDRs.
/// </summary>
public sealed record NodeRecord
{
    [JsonPropertyName("Name")] public string Name { get; init; } = "";
    [JsonPropertyName("Cluster")] public string Cluster { get; init; } = "";
    [JsonPropertyName("IPAddresses")] public List<NodeAddress> IpAddresses { get; init; } = [];
    [JsonPropertyName("IPv4AllocCIDR")] public GoIpNet? Ipv4AllocCidr { get; init; }
    [JsonPropertyName("IPv6AllocCIDR")] public GoIpNet? Ipv6AllocCidr { get; init; }
    [JsonPropertyName("IPv4HealthIP")] public string Ipv4HealthIp { get; init; } = "";
    [JsonPropertyName("IPv6HealthIP")] public string Ipv6HealthIp { get; init; } = "";
    [JsonPropertyName("ClusterID")] public uint ClusterId { get; init; }
    [JsonPropertyName("Source")] public string Source { get; init; } = "local";
    [JsonPropertyName("EncryptionKey")] public byte EncryptionKey { get; init; }
    /// <summary>The node's WireGuard public key (base64), as Cilium publishes it with encryption.type=wireguard.</summary>
    [JsonPropertyName("WireguardPubKey"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? WireguardPubKey { get; init; }
    [JsonPropertyName("Labels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? Labels { get; init; }
    /// <summary>Cilium's Node annotations; ours carry how the node is tunnelled to (<see cref="NodeTunnelAnnotations"/>).</summary>
    [JsonPropertyName("Annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? Annotations { get; init; }

    /// <summary>The InternalIP addresses (what tunnels terminate on).</summary>
    public IEnumerable<IPAddress> InternalIps() => IpAddresses
        .Where(a => a.EffectiveType == "InternalIP" && IPAddress.TryParse(a.Ip, out _))
        .Select(a => IPAddress.Parse(a.Ip!));

    /// <summary>Pod CIDRs allocated to the node (IPv4 then IPv6), the malformed ones left out.</summary>
    public IEnumerable<IPNetwork> PodCidrs()
    {
        foreach (var n in new[] { Ipv4AllocCidr, Ipv6AllocCidr })
            if (n != null && GoNet.Network(n.Ip, n.Mask) is { } net) yield return net;
    }

    public string ToJson() => JsonSerializer.Serialize(this, MeshJson.Options);

    public static NodeRecord? Parse(string json) => MeshJson.TryParse<NodeRecord>(json);

    public static GoIpNet Cidr(IPNetwork n) => new(n.BaseAddress.ToString(), GoNet.MaskOf(n.PrefixLength, n.BaseAddress.AddressFamily));
}

/// <summary>One node address; older agents wrote the type as "AddressType", current ones as "Type".</summary>
public sealed record NodeAddress
{
    [JsonPropertyName("Type")] public string? Type { get; init; }
    [JsonPropertyName("AddressType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? LegacyType { get; init; }
    [JsonPropertyName("IP")] public string? Ip { get; init; }

    [JsonIgnore] public string? EffectiveType => Type ?? LegacyType;
}

/// <summary>Go's net.IPNet in JSON: {"IP": "10.0.0.0", "Mask": "////AA=="}.</summary>
public sealed record GoIpNet([property: JsonPropertyName("IP")] string? Ip, [property: JsonPropertyName("Mask")] string? Mask);
