using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>Reads the optional Kubernetes metadata maps shared by all kinds.</summary>
internal static class MetadataReader
{
    public static ImmutableSortedDictionary<string, string> Labels(ConfigDocument doc) => Map(doc, "labels");

    public static ImmutableSortedDictionary<string, string> Annotations(ConfigDocument doc) => Map(doc, "annotations");

    private static ImmutableSortedDictionary<string, string> Map(ConfigDocument doc, string key) =>
        doc.Metadata.TryGet(key, out var node) ? node.StringMap() : YNode.EmptyMap;
}
