namespace Dataplane.ClusterMesh.Services;

/// <summary><c>service.cilium.io/affinity</c>: which cluster's backends a global service prefers.</summary>
public enum ServiceAffinity { None, Local, Remote }

/// <summary>The Cluster Mesh annotations of a Service (pkg/annotation), with Cilium's defaults.</summary>
public sealed record GlobalServiceAnnotations(bool Global, bool Shared, ServiceAffinity Affinity)
{
    public const string GlobalKey = "service.cilium.io/global", GlobalAlias = "io.cilium/global-service";
    public const string SharedKey = "service.cilium.io/shared", SharedAlias = "io.cilium/shared-service";
    public const string AffinityKey = "service.cilium.io/affinity", AffinityAlias = "io.cilium/service-affinity";

    /// <summary>
    /// global: "true" (case-insensitive) in either spelling; shared: defaults to true for a global service and
    /// only "false" turns it off; affinity: local/remote/none, anything else (or a non-global service) is none.
    /// </summary>
    public static GlobalServiceAnnotations From(IReadOnlyDictionary<string, string> annotations)
    {
        string? Get(string key, string alias) =>
            annotations.TryGetValue(key, out var v) ? v : annotations.TryGetValue(alias, out var a) ? a : null;
        bool global = string.Equals(Get(GlobalKey, GlobalAlias), "true", StringComparison.OrdinalIgnoreCase);
        bool shared = global && !string.Equals(Get(SharedKey, SharedAlias), "false", StringComparison.OrdinalIgnoreCase);
        var affinity = !global ? ServiceAffinity.None : Get(AffinityKey, AffinityAlias)?.ToLowerInvariant() switch
        {
            "local" => ServiceAffinity.Local,
            "remote" => ServiceAffinity.Remote,
            _ => ServiceAffinity.None,
        };
        return new GlobalServiceAnnotations(global, shared, affinity);
    }
}
