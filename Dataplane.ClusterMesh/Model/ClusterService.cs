using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.ClusterMesh.Model;

/// <summary>
/// A service as Cluster Mesh shares it at <c>cilium/state/services/v1/&lt;cluster&gt;/&lt;ns&gt;/&lt;name&gt;</c>
/// (pkg/clustermesh/store ClusterService, a stable JSON API). Frontends and backends are maps from the IP
/// address to its ports by port name; <see cref="IncludeExternal"/> is "global", <see cref="Shared"/> is
/// "shared with other clusters".
/// </summary>
public sealed record ClusterService
{
    [JsonPropertyName("cluster")] public string Cluster { get; init; } = "";
    [JsonPropertyName("namespace")] public string Namespace { get; init; } = "";
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("frontends")] public Dictionary<string, Dictionary<string, L4Addr>> Frontends { get; init; } = [];
    [JsonPropertyName("backends")] public Dictionary<string, Dictionary<string, L4Addr>> Backends { get; init; } = [];
    [JsonPropertyName("labels")] public Dictionary<string, string> Labels { get; init; } = [];
    [JsonPropertyName("selector")] public Dictionary<string, string> Selector { get; init; } = [];
    [JsonPropertyName("includeExternal")] public bool IncludeExternal { get; init; }
    [JsonPropertyName("shared")] public bool Shared { get; init; }
    [JsonPropertyName("clusterID")] public uint ClusterId { get; init; }

    /// <summary>The key name under the services prefix: <c>&lt;cluster&gt;/&lt;ns&gt;/&lt;name&gt;</c>.</summary>
    [JsonIgnore] public string KeyName => $"{Cluster}/{Namespace}/{Name}";

    public string ToJson() => JsonSerializer.Serialize(this, MeshJson.Options);

    /// <summary>Null when malformed: bad JSON, cluster/namespace/name unset, a frontend or backend that is not an IP.</summary>
    public static ClusterService? Parse(string json)
    {
        var s = MeshJson.TryParse<ClusterService>(json);
        if (s == null || s.Cluster is not { Length: > 0 } || s.Namespace is not { Length: > 0 } || s.Name is not { Length: > 0 })
            return null;
        // Go writes an empty map as {} but a nil one as null.
        s = s with { Frontends = s.Frontends ?? [], Backends = s.Backends ?? [], Labels = s.Labels ?? [], Selector = s.Selector ?? [] };
        foreach (var ip in s.Frontends.Keys.Concat(s.Backends.Keys))
            if (ip.Contains('%') || !System.Net.IPAddress.TryParse(ip, out _)) return null;   // no IPv6 zones
        return s;
    }
}

/// <summary>An L4 port (Cilium's loadbalancer.L4Addr): protocol "TCP"/"UDP"/"SCTP" and port number.</summary>
public sealed record L4Addr([property: JsonPropertyName("Protocol")] string Protocol, [property: JsonPropertyName("Port")] ushort Port);
