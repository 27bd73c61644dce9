using System.Collections.Immutable;
using Dataplane.Core.L7;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>toPorts[].rules</c> of a CiliumNetworkPolicy: <c>http</c> (method, path, host, headers, headerMatches) and
/// <c>dns</c> (matchName, matchPattern) are enforced by the node's proxies; the other kinds (kafka, l7proto) are
/// errors at their line, never ignored.
/// Regular expressions are compiled here, so a bad one is a config error with its position, not a runtime surprise.
/// </summary>
internal static class L7RuleParser
{
    /// <summary>The entry's HTTP or DNS rules (exactly one kind, as Cilium's L7Rules).</summary>
    public static (HttpPolicy? Http, DnsPolicy? Dns) Parse(YNode rules, bool deny)
    {
        if (deny) throw rules.Error("L7 rules are not allowed in deny rules (Cilium refuses them too)");
        foreach (var (k, _) in rules.Entries())
        {
            var name = k.String();
            if (name is "kafka" or "l7proto" or "l7")
                throw k.Error($"L7 rules '{name}' are not supported yet");
        }
        rules.AllowOnly("http", "dns");
        bool http = rules.TryGet("http", out var httpList), dns = rules.TryGet("dns", out var dnsList);
        if (http == dns) throw rules.Error("exactly one of http or dns is required");
        if (dns) return (null, new DnsPolicy(Patterns(dnsList)));
        var list = ImmutableArray.CreateBuilder<HttpRule>();
        foreach (var item in httpList.Items()) list.Add(Http(item));
        return (new HttpPolicy(list.ToImmutable()), null);
    }

    /// <summary>A list of {matchName} / {matchPattern} (rules.dns, toFQDNs).</summary>
    public static ImmutableArray<DnsPattern> Patterns(YNode list)
    {
        var b = ImmutableArray.CreateBuilder<DnsPattern>();
        foreach (var item in list.Items())
        {
            item.AllowOnly("matchName", "matchPattern");
            string? name = item.OptString("matchName"), pattern = item.OptString("matchPattern");
            if ((name is null) == (pattern is null)) throw item.Error("exactly one of matchName or matchPattern is required");
            var text = name ?? pattern!;
            if (text.Length == 0 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' || (pattern is not null && c == '*'))))
                throw item.Error($"'{text}' is not a DNS name{(pattern is not null ? " pattern" : "")}");
            b.Add(new DnsPattern(name, pattern));
        }
        return b.ToImmutable();
    }

    private static HttpRule Http(YNode n)
    {
        n.AllowOnly("method", "path", "host", "headers", "headerMatches");
        string? method = Regex(n, "method"), path = Regex(n, "path"), host = Regex(n, "host");
        var headers = ImmutableArray.CreateBuilder<(string, string?)>();
        if (n.TryGet("headers", out var hl))
        {
            foreach (var h in hl.Items())
            {
                // "Name" (present) or "Name: value" (exactly that value), as Cilium's PortRuleHTTP.Headers.
                var text = h.String();
                int colon = text.IndexOf(':', StringComparison.Ordinal);
                string name = (colon < 0 ? text : text[..colon]).Trim();
                if (name.Length == 0) throw h.Error($"header '{text}' has no name");
                headers.Add((name, colon < 0 ? null : text[(colon + 1)..].Trim()));
            }
        }
        var matches = ImmutableArray.CreateBuilder<HeaderMatch>();
        if (n.TryGet("headerMatches", out var ml))
        {
            foreach (var m in ml.Items())
            {
                m.AllowOnly("name", "value", "mismatch", "secret");
                if (m.TryGet("secret", out var secret))
                    throw secret.Error("headerMatches secret (a Kubernetes Secret's value) is not supported yet");
                var mismatch = m.OptString("mismatch") switch
                {
                    null or "" => HeaderMismatch.None,
                    "LOG" => HeaderMismatch.Log,
                    "ADD" => HeaderMismatch.Add,
                    "DELETE" => HeaderMismatch.Delete,
                    "REPLACE" => HeaderMismatch.Replace,
                    var x => throw m.Get("mismatch").Error($"mismatch must be LOG, ADD, DELETE or REPLACE, got '{x}'"),
                };
                matches.Add(new HeaderMatch(m.RequiredString("name"), m.OptString("value") ?? "", mismatch));
            }
        }
        return new HttpRule(method, path, host, headers.ToImmutable(), matches.ToImmutable());
    }

    private static string? Regex(YNode n, string key)
    {
        if (!n.TryGet(key, out var v)) return null;
        var text = v.String();
        try { HttpRule.FullMatch(text); }
        catch (ArgumentException e) { throw v.Error($"invalid regular expression '{text}': {e.Message}"); }
        return text;
    }
}
