using Grpc.Core;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Hubble's label filter (<c>--label</c>, <c>source_label</c>): comma-separated requirements, each <c>key=value</c>
/// (or <c>==</c>), <c>key!=value</c>, <c>key</c> (present) or <c>!key</c> (absent); all must hold. A key may carry a
/// label source (<c>k8s:app</c>); without one it matches a label of any source, as Cilium's <c>any:</c>. Flows carry
/// labels as Cilium prints them: <c>source:key=value</c>, or <c>source:key</c> for a label without a value.
/// </summary>
public sealed class LabelSelector
{
    private readonly (string? Source, string Key, string? Value, bool Negate)[] _terms;

    private LabelSelector((string?, string, string?, bool)[] terms) => _terms = terms;

    public static LabelSelector Parse(string text)
    {
        var terms = new List<(string?, string, string?, bool)>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string term = raw;
            bool negate = false;
            string? value = null;
            int op;
            if ((op = term.IndexOf("!=", StringComparison.Ordinal)) > 0) { value = term[(op + 2)..]; term = term[..op]; negate = true; }
            else if ((op = term.IndexOf("==", StringComparison.Ordinal)) > 0) { value = term[(op + 2)..]; term = term[..op]; }
            else if ((op = term.IndexOf('=')) > 0) { value = term[(op + 1)..]; term = term[..op]; }
            else if (term.StartsWith('!')) { term = term[1..]; negate = true; }
            if (term.Length == 0 || term.Contains(' ')) throw new RpcException(new Status(StatusCode.InvalidArgument, $"label filter {text}: bad requirement '{raw}'"));
            int colon = term.IndexOf(':');
            string? source = colon > 0 ? term[..colon] : null;
            if (source == "any") source = null;
            terms.Add((source, colon > 0 ? term[(colon + 1)..] : term, value, negate));
        }
        return new LabelSelector([.. terms]);
    }

    public bool Matches(IEnumerable<string> labels)
    {
        var parsed = labels.Select(Split).ToArray();
        foreach (var (source, key, value, negate) in _terms)
        {
            bool found = parsed.Any(l => l.Key == key && (source is null || l.Source == source) && (value is null || l.Value == value));
            if (found == negate) return false;
        }
        return true;
    }

    private static (string Source, string Key, string Value) Split(string label)
    {
        int colon = label.IndexOf(':');
        string source = colon > 0 ? label[..colon] : "unspec";
        string rest = colon > 0 ? label[(colon + 1)..] : label;
        int eq = rest.IndexOf('=');
        return eq < 0 ? (source, rest, "") : (source, rest[..eq], rest[(eq + 1)..]);
    }
}
