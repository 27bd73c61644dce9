using Dataplane.Core.L7;
using Dataplane.Testing.Fixtures;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// toPorts[].rules.http as Cilium's PortRuleHTTP: method, path and host are regular expressions matched against the
/// whole value (Envoy's full match; the path includes the query), headers must be present with the exact value,
/// headerMatches without a mismatch action must match, rules are ORed and fields ANDed; the compiled policy entry
/// names a rule that carries them, so the datapath knows to redirect.
/// </summary>
public class HttpRuleTests
{
    private const string L7Policy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-http, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules:
                http:
                - {method: GET, path: "/public/.*"}
                - {method: "POST|PUT", path: /api, host: "shop\\.example", headers: ["X-Token: s3cret"]}
                - {path: /log, headerMatches: [{name: X-Trace, value: "1", mismatch: ADD}]}
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "81", protocol: TCP}]}]
        """;

    private static string? None(string _) => null;

    [Fact]
    public void RulesMatchAsCiliumsProxyMatchesThem()
    {
        using var cluster = new PolicyCluster(L7Policy);
        var rules = cluster.Snapshot.Policy.Rules;
        var http = Assert.Single(rules, r => r?.Http is not null)!.Http!;
        Assert.Equal(3, http.Rules.Length);
        Assert.Equal(0, http.Match("GET", "/public/a?x=1", "any", None, null));
        // Full match: a prefix or a longer method is not enough; the method is case-sensitive as in Envoy.
        Assert.Equal(-1, http.Match("GET", "/publicity", "any", None, null));
        Assert.Equal(-1, http.Match("GETX", "/public/a", "any", None, null));
        Assert.Equal(-1, http.Match("get", "/public/a", "any", None, null));
        // Every field of a rule must hold: method, path, host, and the header with its exact value.
        Func<string, string?> token = n => n == "X-Token" ? "s3cret" : null;
        Assert.Equal(1, http.Match("PUT", "/api", "shop.example", token, null));
        Assert.Equal(-1, http.Match("PUT", "/api", "shopXexample", token, null));
        Assert.Equal(-1, http.Match("PUT", "/api", "shop.example", n => n == "X-Token" ? "other" : null, null));
        Assert.Equal(-1, http.Match("DELETE", "/api", "shop.example", token, null));
        // A headerMatches entry with a mismatch action matches anyway and asks for the edit.
        var edits = new List<HeaderMatch>();
        Assert.Equal(2, http.Match("GET", "/log", "any", None, edits));
        Assert.Equal(HeaderMismatch.Add, Assert.Single(edits).Mismatch);
    }

    [Fact]
    public void OnlyEntriesWithHttpRulesCarryThem()
    {
        using var cluster = new PolicyCluster(L7Policy);
        var s = cluster.Snapshot;
        var web = s.Endpoints.First(e => e is { Namespace: "prod", Name: "web" })!;
        var client = s.Endpoints.First(e => e is { Namespace: "prod", Name: "client" })!;
        var map = s.IngressPolicy[web.Id];
        Assert.Equal(Core.Policy.PolicyVerdict.Allowed, map.Lookup(client.Identity, 6, 80, out uint l7Rule));
        Assert.Equal(Core.Policy.PolicyVerdict.Allowed, map.Lookup(client.Identity, 6, 81, out uint plainRule));
        Assert.NotNull(s.Policy.Rules[l7Rule]!.Http);
        Assert.Null(s.Policy.Rules[plainRule]!.Http);
        Assert.Equal("web-http", s.Policy.Rules[l7Rule]!.Name);
    }
}
