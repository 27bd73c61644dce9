namespace Dataplane.Control.Config;

/// <summary>Kubernetes <c>v1 Namespace</c>: only its name and labels matter (namespace selectors).</summary>
internal static class NamespaceParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into) =>
        into.Namespaces.Add(new ParsedNamespace(new NamespaceSpec(doc.Name, MetadataReader.Labels(doc), doc.Source)));
}
