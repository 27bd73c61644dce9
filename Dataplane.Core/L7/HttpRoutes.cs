using System.Collections.Immutable;

namespace Dataplane.Core.L7;

/// <summary>One path match of an HTTPRoute rule (Gateway API <c>HTTPPathMatch</c>): Exact, or PathPrefix by whole path elements.</summary>
public readonly record struct RoutePathMatch(bool Exact, string Path)
{
    /// <summary>Whether the request path (without its query) matches: PathPrefix "/a" matches "/a", "/a/" and "/a/b", not "/ab".</summary>
    public bool Matches(string path)
    {
        if (Exact) return path == Path;
        string prefix = Path.Length > 1 ? Path.TrimEnd('/') : Path;
        if (prefix == "/") return true;
        return path.StartsWith(prefix, StringComparison.Ordinal) && (path.Length == prefix.Length || path[prefix.Length] == '/');
    }
}

/// <summary>
/// A backendRef resolved to where the proxy sends the request: the backend Service's IPv4 cluster IP and port (the
/// datapath then balances over the Service's endpoints, with policy judging the proxy's connection as the client's).
/// Address 0: the Service does not exist (or has no IPv4 cluster IP) — a request routed to it is answered 500, as the
/// Gateway API asks for an invalid backendRef.
/// </summary>
public sealed record RouteBackend(string Name, uint Address, ushort Port, int Weight);

/// <summary>
/// One HTTPRoute rule: its matches (ORed; none is PathPrefix "/") and its weighted backends. A request matching the
/// rule goes to one backend chosen with probability weight / total weight, per request (as Envoy's weighted
/// clusters); weight 0 never receives traffic, and a rule whose weights are all 0 answers 500.
/// </summary>
public sealed class RouteRule(ImmutableArray<RoutePathMatch> matches, ImmutableArray<RouteBackend> backends)
{
    public ImmutableArray<RoutePathMatch> Matches { get; } = matches.IsEmpty ? [new RoutePathMatch(false, "/")] : matches;
    public ImmutableArray<RouteBackend> Backends { get; } = backends;
    public int TotalWeight { get; } = backends.Sum(b => b.Weight);

    /// <summary>The backend for a uniform draw <paramref name="draw"/> in [0, <see cref="TotalWeight"/>); null when every weight is 0.</summary>
    public RouteBackend? Pick(int draw)
    {
        foreach (var b in Backends)
        {
            if (draw < b.Weight) return b;
            draw -= b.Weight;
        }
        return null;
    }
}

/// <summary>
/// An HTTPRoute attached to a Service (Gateway API for mesh, "GAMMA", as Cilium implements it): the datapath redirects
/// connections to the Service's cluster IP and port to the node's proxy, which picks the rule by the request's path
/// — Gateway API precedence: an Exact match before any PathPrefix, a longer prefix before a shorter one, then rule
/// order — and a backend of that rule by weight. No rule matching: 404.
/// </summary>
public sealed class HttpRoute(string name, ImmutableArray<RouteRule> rules)
{
    public string Name { get; } = name;
    public ImmutableArray<RouteRule> Rules { get; } = rules;

    public RouteRule? Match(string path)
    {
        RouteRule? best = null;
        int bestRank = -1;
        foreach (var rule in Rules)
            foreach (var m in rule.Matches)
            {
                if (!m.Matches(path)) continue;
                int rank = m.Exact ? int.MaxValue : m.Path.Length;
                if (rank > bestRank) { best = rule; bestRank = rank; }
            }
        return best;
    }
}

/// <summary>A Service frontend (IPv4 cluster IP, host order, and port) whose connections go to the proxy for route <see cref="Route"/> (1-based index).</summary>
public readonly record struct RouteFrontend(uint Address, ushort Port, ushort Route);
