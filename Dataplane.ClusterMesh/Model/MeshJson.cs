using System.Text.Json;

namespace Dataplane.ClusterMesh.Model;

/// <summary>JSON settings matching Go's encoding/json for the records Cilium stores.</summary>
public static class MeshJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        // Go writes nil pointers/slices as null and keeps field order; property names are explicit everywhere.
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Null when the text is not JSON of that shape (values written by others are untrusted).</summary>
    public static T? TryParse<T>(string json) where T : class
    {
        try { return JsonSerializer.Deserialize<T>(json, Options); }
        catch (JsonException) { return null; }
    }
}
