using System.Collections.Immutable;
using System.Text;

namespace Dataplane.Core.Identity;

/// <summary>
/// A Cilium label: <c>source:key=value</c>. Sources used here: <c>k8s</c> (pod metadata), <c>reserved</c>
/// (reserved identities), <c>cidr</c> (CIDR identities), <c>node</c> (a Node's labels on its identity when
/// node selectors are in use), <c>cidrgroup</c> (CiliumCIDRGroup names and labels), <c>any</c> (selectors
/// only: matches every source).
/// </summary>
public readonly record struct Label(string Source, string Key, string Value) : IComparable<Label>
{
    public const string SourceK8s = "k8s", SourceReserved = "reserved", SourceCidr = "cidr", SourceAny = "any",
        SourceNode = "node", SourceCidrGroup = "cidrgroup";

    /// <summary>
    /// Parses a selector or label key such as <c>k8s:app</c>, <c>app</c> (source any) or <c>reserved:host</c>.
    /// Cilium's short forms of a reserved key are read too (pkg/labels ParseSource): <c>$host</c>, and
    /// <c>reserved.init</c> — the form a Kubernetes label selector can carry, since ':' is not valid in its keys.
    /// </summary>
    public static (string Source, string Key) SplitKey(string text)
    {
        if (text.Length > 1 && text[0] == '$') return (SourceReserved, text[1..]);
        int colon = text.IndexOf(':');
        // A key without a known source prefix keeps its colons (e.g. an IPv6 CIDR label value is never a key).
        if (colon > 0)
        {
            var src = text[..colon];
            if (src is SourceK8s or SourceReserved or SourceCidr or SourceAny or SourceNode or SourceCidrGroup or "container" or "unspec")
                return (src, text[(colon + 1)..]);
        }
        else if (colon < 0 && text.StartsWith(ReservedDotPrefix, StringComparison.Ordinal) && text.Length > ReservedDotPrefix.Length)
        {
            return (SourceReserved, text[ReservedDotPrefix.Length..]);
        }
        return (SourceAny, text);
    }

    private const string ReservedDotPrefix = "reserved.";

    /// <summary>As Cilium prints a label: <c>source:key=value</c>, or <c>source:key</c> when the value is empty.</summary>
    public override string ToString() => Value.Length == 0 ? $"{Source}:{Key}" : $"{Source}:{Key}={Value}";

    public int CompareTo(Label other)
    {
        int c = string.CompareOrdinal(Source, other.Source);
        if (c != 0) return c;
        c = string.CompareOrdinal(Key, other.Key);
        return c != 0 ? c : string.CompareOrdinal(Value, other.Value);
    }
}

/// <summary>
/// A sorted, de-duplicated label set: what an identity is. <see cref="Key"/> is Cilium's
/// <c>SortedList()</c> form, each label as <c>source:key=value;</c> with the trailing semicolon.
/// </summary>
public sealed class LabelSet : IEquatable<LabelSet>
{
    public ImmutableArray<Label> Labels { get; }
    public string Key { get; }

    public LabelSet(IEnumerable<Label> labels)
    {
        // Cilium's Labels is a map keyed by the label key alone (one source per key; the last write wins)
        // and SortedList() orders by that key — pkg/labels.
        var byKey = new Dictionary<string, Label>(StringComparer.Ordinal);
        foreach (var l in labels) byKey[l.Key] = l;
        Labels = [.. byKey.Values.OrderBy(l => l.Key, StringComparer.Ordinal)];
        var sb = new StringBuilder();
        foreach (var l in Labels) sb.Append(l.Source).Append(':').Append(l.Key).Append('=').Append(l.Value).Append(';');
        Key = sb.ToString();
    }

    /// <summary>Value of the label with this key from the given source, or from any source when source is "any".</summary>
    public bool TryGet(string source, string key, out string value)
    {
        foreach (var l in Labels)
        {
            if (l.Key == key && (source == Label.SourceAny || l.Source == source)) { value = l.Value; return true; }
        }
        value = "";
        return false;
    }

    public bool Equals(LabelSet? other) => other is not null && Key == other.Key;
    public override bool Equals(object? obj) => Equals(obj as LabelSet);
    public override int GetHashCode() => Key.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => Key;
}
