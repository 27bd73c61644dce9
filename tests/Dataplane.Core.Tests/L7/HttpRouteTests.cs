using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.L7;
using Dataplane.Core.Routing;
using Dataplane.Core.Tests.Config;

namespace Dataplane.Core.Tests.L7;

/// <summary>
/// Gateway API HTTPRoutes in their mesh form: parsing (what is refused, at its line), path precedence (Exact, then the
/// longest PathPrefix by whole elements, then rule order), the weighted choice and the frontends the datapath redirects.
/// </summary>
public class HttpRouteTests
{
    private const string Head = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: prod}\n";

    private const string Services = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: prod}
        spec: {clusterIP: 198.18.103.10, ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, protocol: UDP}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web-v1, namespace: prod}
        spec: {clusterIP: 198.18.103.11, ports: [{name: http, port: 8080}]}
        ---

        """;

    private const string Canary = Head + """
        spec:
          parentRefs: [{group: "", kind: Service, name: web}]
          rules:
          - backendRefs: [{name: web-v1, port: 8080, weight: 90}, {name: web-v2, port: 8080, weight: 10}]
          - matches: [{path: {type: PathPrefix, value: /v2/}}, {path: {type: Exact, value: /only}}]
            backendRefs: [{name: web-v2, port: 8080}]

        """;

    [Fact]
    public void CompilesFrontendsOfTheParentsTcpPortsAndResolvesBackends()
    {
        var model = ConfigYaml.Load(Services + Canary);
        var spec = Assert.Single(model.HttpRoutes);
        Assert.Equal(2, spec.Rules.Length);
        var proxy = HttpRouteCompiler.Attach(model, new ProxyTarget(1, 0, 15001, default(NextHop)));
        // web's TCP port only (a parentRef without port attaches every TCP port); the UDP port is not HTTP.
        Assert.Equal([new RouteFrontend(RoutePrefix.ToUInt32(System.Net.IPAddress.Parse("198.18.103.10")), 80, 1)], proxy.Frontends);
        var rule = proxy.Routes[0].Rules[0];
        Assert.Equal(RoutePrefix.ToUInt32(System.Net.IPAddress.Parse("198.18.103.11")), rule.Backends[0].Address);
        Assert.Equal(0u, rule.Backends[1].Address);    // web-v2 does not exist: its share is answered 500
        Assert.Equal(100, rule.TotalWeight);
    }

    [Fact]
    public void WeightsSplitTheDrawsExactly()
    {
        var rule = new RouteRule([], [new RouteBackend("v1", 1, 80, 90), new RouteBackend("v2", 2, 80, 10), new RouteBackend("off", 3, 80, 0)]);
        var picks = Enumerable.Range(0, rule.TotalWeight).Select(d => rule.Pick(d)!.Name).GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(90, picks["v1"]);
        Assert.Equal(10, picks["v2"]);
        Assert.False(picks.ContainsKey("off"));
        Assert.Null(new RouteRule([], [new RouteBackend("off", 3, 80, 0)]).Pick(0));
    }

    [Theory]
    [InlineData("/", "v1")]
    [InlineData("/v2", "v2")]          // PathPrefix /v2/ is the element "v2": "/v2" itself matches (the trailing slash is ignored) …
    [InlineData("/v2/a", "v2")]
    [InlineData("/v2x", "v1")]         // … but not "/v2x"
    [InlineData("/only", "v2")]
    [InlineData("/only/more", "v1")]   // Exact is exact
    public void PathPrecedenceFollowsTheGatewayApi(string path, string expected)
    {
        var catchAll = new RouteRule([], [new RouteBackend("v1", 1, 80, 1)]);
        var specific = new RouteRule([new RoutePathMatch(false, "/v2/"), new RoutePathMatch(true, "/only")], [new RouteBackend("v2", 2, 80, 1)]);
        var route = new HttpRoute("prod/r", [catchAll, specific]);
        var got = route.Match(path)!.Pick(0)!.Name;
        Assert.Equal(expected, got);
    }

    [Theory]
    [InlineData(Head + "spec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: a, port: 80}]}]\n", 5, "parentRef gateway.networking.k8s.io/Gateway is not supported yet")]
    [InlineData(Head + "spec:\n  parentRefs: [{group: \"\", kind: Service, name: web}]\n  rules:\n  - matches: [{headers: [{name: x, value: y}]}]\n    backendRefs: [{name: a, port: 80}]\n", 7, "match 'headers' is not supported yet")]
    [InlineData(Head + "spec:\n  parentRefs: [{group: \"\", kind: Service, name: web}]\n  rules:\n  - backendRefs: [{name: a}]\n", 7, "backendRef to a Service needs a port")]
    [InlineData(Head + "spec:\n  parentRefs: [{group: \"\", kind: Service, name: web}]\n  rules:\n  - backendRefs: [{name: a, port: 80, namespace: other}]\n", 7, "needs a ReferenceGrant")]
    [InlineData(Head + "spec:\n  parentRefs: [{group: \"\", kind: Service, name: web}]\n  rules:\n  - filters: [{type: RequestMirror}]\n    backendRefs: [{name: a, port: 80}]\n", 7, "rule 'filters' is not supported yet")]
    public void RefusedAtLine(string yaml, int line, string reason) => DocumentErrorTests.AssertFails(yaml, line, reason);
}
