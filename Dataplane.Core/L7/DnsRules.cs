using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Dataplane.Core.L7;

/// <summary>
/// One <c>rules.dns</c> (or <c>toFQDNs</c>) entry as Cilium's FQDNSelector: <c>matchName</c> is the exact name
/// (case-insensitive, with or without the trailing dot); <c>matchPattern</c> uses <c>*</c> for any run of DNS characters
/// within one label (<c>*.example.com</c> matches <c>a.example.com</c>, not <c>a.b.example.com</c>), and a lone <c>*</c>
/// matches every name (pkg/fqdn/matchpattern).
/// </summary>
public sealed class DnsPattern
{
    private readonly Regex _regex;

    public DnsPattern(string? matchName, string? matchPattern)
    {
        MatchName = matchName; MatchPattern = matchPattern;
        string body = matchName is not null
            ? Regex.Escape(Normalize(matchName))
            : matchPattern is "*" ? @"([-a-z0-9_]+\.)+"
            : string.Concat(Normalize(matchPattern ?? "").Select(c => c == '*' ? "[-a-z0-9_]*" : Regex.Escape(c.ToString())));
        _regex = new Regex($"^(?:{body})$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
    }

    public string? MatchName { get; }
    public string? MatchPattern { get; }

    /// <summary>Lower case with the trailing dot, as Cilium keeps names.</summary>
    public static string Normalize(string name) => (name.EndsWith('.') ? name : name + ".").ToLowerInvariant();

    public bool Matches(string name) => _regex.IsMatch(Normalize(name));
}

/// <summary>The DNS rules of one toPorts entry: a lookup is allowed when one pattern matches its name.</summary>
public sealed class DnsPolicy(ImmutableArray<DnsPattern> patterns)
{
    public ImmutableArray<DnsPattern> Patterns { get; } = patterns;

    public bool Allows(string name)
    {
        foreach (var p in Patterns) if (p.Matches(name)) return true;
        return false;
    }
}
