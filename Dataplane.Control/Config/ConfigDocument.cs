namespace Dataplane.Control.Config;

/// <summary>
/// One YAML document after the envelope every kind shares (apiVersion, kind, metadata.name and, for
/// namespaced kinds, metadata.namespace) has been read and checked.
/// </summary>
internal sealed class ConfigDocument
{
    public required YNode Root { get; init; }
    public required KindInfo Kind { get; init; }
    public required YNode Metadata { get; init; }
    public required YNode NameNode { get; init; }
    public required string Name { get; init; }
    /// <summary>The namespace for namespaced kinds ("default" when omitted), otherwise empty.</summary>
    public required string Namespace { get; init; }

    public string File => Root.File;
    public SourceLocation Source => Root.At;

    /// <summary>"ns/name" for namespaced kinds, "name" otherwise: how kubectl would name the object.</summary>
    public string QualifiedName => Kind.Namespaced ? $"{Namespace}/{Name}" : Name;
}
