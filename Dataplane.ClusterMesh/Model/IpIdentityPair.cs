using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.ClusterMesh.Model;

/// <summary>
/// An ipcache entry as Cilium stores it at <c>cilium/state/ip/v1/default/&lt;ip&gt;</c> (pkg/identity
/// IPIdentityPair, a stable JSON API): the endpoint's IP (Mask null for a single address), the IP of the node
/// hosting it (the tunnel endpoint), its security identity, the encryption key index, the owner's metadata
/// and the pod's namespace/name.
/// </summary>
public sealed record IpIdentityPair
{
    [JsonPropertyName("IP")] public string? Ip { get; init; }
    [JsonPropertyName("Mask")] public string? Mask { get; init; }
    [JsonPropertyName("HostIP")] public string? HostIp { get; init; }
    [JsonPropertyName("ID")] public uint Id { get; init; }
    [JsonPropertyName("Key")] public byte Key { get; init; }
    [JsonPropertyName("Metadata")] public string Metadata { get; init; } = "";
    [JsonPropertyName("K8sNamespace"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? K8sNamespace { get; init; }
    [JsonPropertyName("K8sPodName"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? K8sPodName { get; init; }
    [JsonPropertyName("NamedPorts"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public List<NamedPort>? NamedPorts { get; init; }

    /// <summary>The kvstore key name: the IP, or IP/len for a prefix (Cilium's PrefixString).</summary>
    [JsonIgnore]
    public string KeyName => Mask == null ? Ip ?? "" : $"{Ip}/{GoNet.PrefixLengthOf(Mask)}";

    /// <summary>The address (single IP entries) or prefix; null when malformed.</summary>
    public IPNetwork? Prefix()
    {
        if (Mask != null) return GoNet.Network(Ip, Mask);
        if (Ip == null || !IPAddress.TryParse(Ip, out var a)) return null;
        return new IPNetwork(a, a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    public IPAddress? Host() => HostIp != null && IPAddress.TryParse(HostIp, out var h) ? h : null;

    public string ToJson() => JsonSerializer.Serialize(this, MeshJson.Options);

    public static IpIdentityPair? Parse(string json) => MeshJson.TryParse<IpIdentityPair>(json);

    /// <summary>An endpoint's entry with Cilium's metadata form <c>cilium-global:&lt;ns&gt;:&lt;node&gt;:&lt;endpoint id&gt;</c>.</summary>
    public static IpIdentityPair ForEndpoint(IPAddress ip, IPAddress hostIp, uint identity, string node, int endpointId,
        string ns, string pod) => new()
    {
        Ip = ip.ToString(), HostIp = hostIp.ToString(), Id = identity,
        Metadata = $"cilium-global:{ns}:{node}:{endpointId}", K8sNamespace = ns, K8sPodName = pod,
    };
}

/// <summary>A named container port (Cilium's NamedPort).</summary>
public sealed record NamedPort([property: JsonPropertyName("Name")] string Name,
    [property: JsonPropertyName("Port")] ushort Port, [property: JsonPropertyName("Protocol")] string Protocol);
