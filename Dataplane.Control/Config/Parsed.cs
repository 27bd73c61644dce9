using System.Collections.Immutable;

namespace Dataplane.Control.Config;

// Parsed objects plus the positions of the values that whole-model rules may need to blame. The public
// specs keep only their document's position; these side records exist only during loading.

internal sealed record ParsedNode(NodeSpec Spec, ImmutableArray<SourceLocation> PodCidrAt,
    ImmutableArray<SourceLocation> InternalIpAt);

internal sealed record ParsedNamespace(NamespaceSpec Spec);

internal sealed record ParsedPod(PodSpec Spec, SourceLocation NodeNameAt, ImmutableArray<SourceLocation> IpAt,
    SourceLocation MacAt);

internal sealed record ParsedLocalNode(LocalNodeSpec Spec, SourceLocation NameAt,
    ImmutableArray<(MacAddress Mac, SourceLocation At, string Owner)> Macs);
