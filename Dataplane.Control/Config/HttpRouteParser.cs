using System.Collections.Immutable;
using Dataplane.Core.L7;

namespace Dataplane.Control.Config;

/// <summary>A parentRef of an HTTPRoute: a Service of the route's namespace, one port of it or (null) all.</summary>
public sealed record RouteParentSpec(string Service, ushort? Port, SourceLocation Source);

/// <summary>A backendRef: a Service of the route's namespace, its port and weight.</summary>
public sealed record RouteBackendSpec(string Service, ushort Port, int Weight, SourceLocation Source);

/// <summary>One rule: its path matches (none: every path) and backends.</summary>
public sealed record RouteRuleSpec(ImmutableArray<RoutePathMatch> Matches, ImmutableArray<RouteBackendSpec> Backends, SourceLocation Source);

/// <summary>A Gateway API HTTPRoute attached to Services (the mesh form, GAMMA).</summary>
public sealed record HttpRouteSpec(string Namespace, string Name, ImmutableArray<RouteParentSpec> Parents,
    ImmutableArray<RouteRuleSpec> Rules, SourceLocation Source);

/// <summary>
/// <c>gateway.networking.k8s.io/v1</c> <c>HTTPRoute</c> in its mesh form (GAMMA, as Cilium implements it for east-west
/// traffic): <c>parentRefs</c> name Services (kind Service, group ""), whose traffic the node's proxy routes;
/// <c>rules[].matches[].path</c> (Exact, PathPrefix) picks the rule and <c>rules[].backendRefs</c> (Services with
/// port and weight, default 1) the backend, per request. Hostnames are ignored, as GAMMA says for Service parents.
/// What the proxy does not do is an error at its line, never ignored: a Gateway parent, header / query / method
/// matches, filters, timeouts, RegularExpression paths, references to another namespace (they need a ReferenceGrant).
/// </summary>
internal static class HttpRouteParser
{
    private const string NotSupported = "not supported yet";

    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        foreach (var (k, _) in spec.Entries())
            if (k.String() is "sessionPersistence") throw k.Error($"'{k.String()}' is {NotSupported}");
        spec.AllowOnly("parentRefs", "hostnames", "rules");
        var parents = ImmutableArray.CreateBuilder<RouteParentSpec>();
        foreach (var p in spec.Get("parentRefs").Items())
        {
            p.AllowOnly("group", "kind", "namespace", "name", "port", "sectionName");
            string group = p.OptString("group") ?? "gateway.networking.k8s.io", kind = p.OptString("kind") ?? "Gateway";
            if (group != "" || kind != "Service")
                throw p.Error($"parentRef {group}/{kind} is {NotSupported}: the node's proxy routes mesh traffic (parentRef group: \"\", kind: Service)");
            SameNamespace(p, doc.Namespace);
            if (p.TryGet("sectionName", out var section)) throw section.Error($"parentRef sectionName is {NotSupported} (use port)");
            parents.Add(new RouteParentSpec(p.RequiredString("name"), p.TryGet("port", out var port) ? (ushort)port.Int(1, 65535) : null, p.At));
        }
        if (parents.Count == 0) throw spec.Error("parentRefs must name at least one Service");
        var rules = ImmutableArray.CreateBuilder<RouteRuleSpec>();
        if (spec.TryGet("rules", out var ruleList))
            foreach (var r in ruleList.Items()) rules.Add(Rule(r, doc.Namespace));
        if (rules.Count == 0) throw spec.Error("rules must hold at least one rule with backendRefs");
        into.HttpRoutes.Add(new HttpRouteSpec(doc.Namespace, doc.Name, parents.ToImmutable(), rules.ToImmutable(), doc.Source));
    }

    private static RouteRuleSpec Rule(YNode r, string ns)
    {
        foreach (var (k, _) in r.Entries())
            if (k.String() is "filters" or "timeouts" or "retry" or "sessionPersistence")
                throw k.Error($"rule '{k.String()}' is {NotSupported}");
        r.AllowOnly("name", "matches", "backendRefs");
        var matches = ImmutableArray.CreateBuilder<RoutePathMatch>();
        if (r.TryGet("matches", out var ml))
        {
            foreach (var m in ml.Items())
            {
                foreach (var (k, _) in m.Entries())
                    if (k.String() is "headers" or "queryParams" or "method")
                        throw k.Error($"match '{k.String()}' is {NotSupported} (path matches only)");
                m.AllowOnly("path");
                if (!m.TryGet("path", out var path)) { matches.Add(new RoutePathMatch(false, "/")); continue; }
                path.AllowOnly("type", "value");
                string type = path.OptString("type") ?? "PathPrefix", value = path.OptString("value") ?? "/";
                if (type == "RegularExpression") throw path.Get("type").Error($"path type RegularExpression is {NotSupported}");
                if (type is not ("Exact" or "PathPrefix")) throw path.Get("type").Error($"path type must be Exact or PathPrefix, got '{type}'");
                if (!value.StartsWith('/')) throw path.Error($"path value '{value}' must start with '/'");
                matches.Add(new RoutePathMatch(type == "Exact", value));
            }
        }
        var backends = ImmutableArray.CreateBuilder<RouteBackendSpec>();
        if (r.TryGet("backendRefs", out var bl))
        {
            foreach (var b in bl.Items())
            {
                if (b.TryGet("filters", out var f)) throw f.Error($"backendRef filters are {NotSupported}");
                b.AllowOnly("group", "kind", "namespace", "name", "port", "weight");
                if ((b.OptString("group") ?? "") != "" || (b.OptString("kind") ?? "Service") != "Service")
                    throw b.Error($"backendRef {b.OptString("group")}/{b.OptString("kind")} is {NotSupported} (Services only)");
                SameNamespace(b, ns);
                if (!b.TryGet("port", out var port)) throw b.Error("backendRef to a Service needs a port");
                int weight = b.TryGet("weight", out var w) ? w.Int(0, 1_000_000) : 1;
                backends.Add(new RouteBackendSpec(b.RequiredString("name"), (ushort)port.Int(1, 65535), weight, b.At));
            }
        }
        if (backends.Count == 0) throw r.Error($"a rule without backendRefs is {NotSupported} (it would answer 500 to everything)");
        return new RouteRuleSpec(matches.ToImmutable(), backends.ToImmutable(), r.At);
    }

    private static void SameNamespace(YNode n, string ns)
    {
        if (n.OptString("namespace") is { } other && other != ns)
            throw n.Get("namespace").Error($"a reference to namespace {other} (needs a ReferenceGrant) is {NotSupported}");
    }
}
