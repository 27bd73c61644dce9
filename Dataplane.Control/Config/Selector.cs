using System.Collections.Immutable;
using Dataplane.Core.Identity;

namespace Dataplane.Control.Config;

public enum SelectorOp : byte { Equals, In, NotIn, Exists, DoesNotExist }

/// <summary>One requirement of a label selector; <see cref="Source"/> "any" matches a label of any source.</summary>
public sealed record SelectorRequirement(string Source, string Key, SelectorOp Op, ImmutableArray<string> Values)
{
    public bool Matches(LabelSet labels)
    {
        bool present = labels.TryGet(Source, Key, out var value);
        return Op switch
        {
            SelectorOp.Equals => present && value == Values[0],
            SelectorOp.In => present && Values.Contains(value),
            SelectorOp.NotIn => !present || !Values.Contains(value),
            SelectorOp.Exists => present,
            _ => !present,
        };
    }

    public override string ToString() => Op switch
    {
        SelectorOp.Equals => $"{Source}:{Key}={Values[0]}",
        SelectorOp.Exists or SelectorOp.DoesNotExist => $"{Source}:{Key} {Op}",
        _ => $"{Source}:{Key} {Op} ({string.Join(",", Values)})",
    };
}

/// <summary>
/// A Kubernetes/Cilium label selector (matchLabels + matchExpressions, all ANDed). The empty selector
/// matches every label set.
/// </summary>
public sealed record EndpointSelector(ImmutableArray<SelectorRequirement> Requirements)
{
    public static EndpointSelector All { get; } = new(ImmutableArray<SelectorRequirement>.Empty);

    public bool Matches(LabelSet labels)
    {
        foreach (var r in Requirements)
            if (!r.Matches(labels)) return false;
        return true;
    }

    public bool NamesKey(string key) => Requirements.Any(r => r.Key == key);

    /// <summary>Names a reserved label (reserved:host …): such selectors are never namespace-scoped.</summary>
    public bool NamesReserved => Requirements.Any(r => r.Source == Label.SourceReserved);

    public EndpointSelector With(SelectorRequirement r) => new(Requirements.Add(r));

    public EndpointSelector With(EndpointSelector other) => new(Requirements.AddRange(other.Requirements));

    /// <summary>Restricts to pods of <paramref name="ns"/> unless the selector already names the namespace label.</summary>
    public EndpointSelector InNamespace(string ns) =>
        NamesKey(IdentityLabels.NamespaceLabel) || NamesReserved
            ? this
            : With(new SelectorRequirement(Label.SourceK8s, IdentityLabels.NamespaceLabel, SelectorOp.Equals, [ns]));

    public override string ToString() => Requirements.IsEmpty ? "{}" : string.Join(",", Requirements);
}
