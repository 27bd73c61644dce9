using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Dataplane.Core.L7;

/// <summary>
/// What a headerMatches entry does when the request's header does not match (Cilium's HeaderMatch.mismatch):
/// none = the rule does not match; LOG = the rule matches anyway (the mismatch is only logged); ADD / DELETE /
/// REPLACE = the rule matches and the proxy adds the value, removes the header, or replaces its value.
/// </summary>
public enum HeaderMismatch : byte { None, Log, Add, Delete, Replace }

/// <summary>One headerMatches entry: header <see cref="Name"/> equal to <see cref="Value"/> (empty: present).</summary>
public sealed record HeaderMatch(string Name, string Value, HeaderMismatch Mismatch);

/// <summary>
/// One <c>toPorts[].rules.http[]</c> entry as Cilium's PortRuleHTTP: <c>method</c>, <c>path</c> and <c>host</c> are
/// extended regular expressions that must match the whole request method, path (with its query, Envoy's
/// <c>:path</c>) and Host, as Envoy's safe_regex full match; <c>headers</c> entries ("Name" or "Name: value") must all
/// be present with that exact value; every field given must match (AND), an empty rule matches every request.
/// </summary>
public sealed class HttpRule
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);
    private readonly Regex? _method, _path, _host;

    public HttpRule(string? method, string? path, string? host, ImmutableArray<(string Name, string? Value)> headers,
        ImmutableArray<HeaderMatch> headerMatches)
    {
        Method = method; Path = path; Host = host; Headers = headers; HeaderMatches = headerMatches;
        _method = FullMatch(method);
        _path = FullMatch(path);
        _host = FullMatch(host, RegexOptions.IgnoreCase);
    }

    public string? Method { get; }
    public string? Path { get; }
    public string? Host { get; }
    public ImmutableArray<(string Name, string? Value)> Headers { get; }
    public ImmutableArray<HeaderMatch> HeaderMatches { get; }

    /// <summary>The regex compiled to match the whole input; throws <see cref="ArgumentException"/> when it is not a valid pattern.</summary>
    public static Regex? FullMatch(string? pattern, RegexOptions extra = RegexOptions.None) =>
        pattern is null ? null : new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant | RegexOptions.Compiled | extra, MatchTimeout);

    /// <summary>
    /// Whether the request matches; header edits that a matched headerMatches entry asks for on mismatch are
    /// appended to <paramref name="edits"/>. <paramref name="header"/> returns a header's value (null: absent).
    /// </summary>
    public bool Matches(string method, string pathAndQuery, string host, Func<string, string?> header, List<HeaderMatch>? edits)
    {
        if (_method is not null && !IsMatch(_method, method)) return false;
        if (_path is not null && !IsMatch(_path, pathAndQuery)) return false;
        if (_host is not null && !IsMatch(_host, host)) return false;
        foreach (var (name, value) in Headers)
        {
            var got = header(name);
            if (got is null || (value is not null && got != value)) return false;
        }
        foreach (var m in HeaderMatches)
        {
            var got = header(m.Name);
            bool ok = got is not null && (m.Value.Length == 0 || got == m.Value);
            if (ok) continue;
            if (m.Mismatch == HeaderMismatch.None) return false;
            if (m.Mismatch != HeaderMismatch.Log) edits?.Add(m);
        }
        return true;
    }

    private static bool IsMatch(Regex r, string input)
    {
        // A pathological pattern times out: the request is not matched (denied), never the proxy stuck.
        try { return r.IsMatch(input); }
        catch (RegexMatchTimeoutException) { return false; }
    }
}

/// <summary>The HTTP rules of one toPorts entry: a request is allowed when any rule matches (OR).</summary>
public sealed class HttpPolicy(ImmutableArray<HttpRule> rules)
{
    public ImmutableArray<HttpRule> Rules { get; } = rules;

    /// <summary>The first matching rule's index, or -1 (denied).</summary>
    public int Match(string method, string pathAndQuery, string host, Func<string, string?> header, List<HeaderMatch>? edits)
    {
        for (int i = 0; i < Rules.Length; i++)
        {
            edits?.Clear();
            if (Rules[i].Matches(method, pathAndQuery, host, header, edits)) return i;
        }
        return -1;
    }
}
