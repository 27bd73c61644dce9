using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.ClusterMesh.Model;

/// <summary>
/// <c>cilium/cluster-config/&lt;cluster&gt;</c> (pkg/clustermesh/types CiliumClusterConfig): the cluster's ID
/// and capabilities, which a connecting cluster checks against its own configuration of the remote.
/// </summary>
public sealed record ClusterConfigRecord
{
    [JsonPropertyName("id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public uint Id { get; init; }
    [JsonPropertyName("capabilities")] public ClusterCapabilities Capabilities { get; init; } = new();

    public string ToJson() => JsonSerializer.Serialize(this, MeshJson.Options);
    public static ClusterConfigRecord? Parse(string json) => MeshJson.TryParse<ClusterConfigRecord>(json);
}

public sealed record ClusterCapabilities
{
    [JsonPropertyName("syncedCanaries"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool SyncedCanaries { get; init; }
    [JsonPropertyName("cached"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Cached { get; init; }
    /// <summary>255 (the default 8-bit cluster ID) or 511; determines the identity bit split.</summary>
    [JsonPropertyName("maxConnectedClusters"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public uint MaxConnectedClusters { get; init; } = 255;
}
