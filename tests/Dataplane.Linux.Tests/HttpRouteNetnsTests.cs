using System.Globalization;
using System.Text;
using Dataplane.Testing.Netns;
using Dataplane.Testing.Processes;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// A canary as a Gateway API user writes it: an HTTPRoute attached to the Service web (mesh form, parentRef kind
/// Service) sends 90 % of its requests to the Service web-v1 and 10 % to web-v2, and every path under /v2 to web-v2.
/// Two real HTTP servers (pods v1 and v2, each answering its name) and a client pod that sends 1 000 requests on four
/// keep-alive connections to web's cluster IP: the datapath redirects the connection to the node's proxy, which picks a
/// backend per request. Tolerance: the v2 count of 1 000 draws with p = 0.1 has mean 100 and σ ≈ 9.5; it must lie in
/// [60, 140] (± 4.2 σ: a correct split fails this with probability below 3·10⁻⁵), and every request must be answered.
/// </summary>
public sealed class HttpRouteNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private const string Web = "198.18.103.10", WebV1 = "198.18.103.11", WebV2 = "198.18.103.12";

    private const string Route = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: web-canary, namespace: default}
        spec:
          parentRefs: [{group: "", kind: Service, name: web, port: 80}]
          rules:
          - backendRefs:
            - {name: web-v1, port: 8080, weight: 90}
            - {name: web-v2, port: 8080, weight: 10}
          - matches: [{path: {type: PathPrefix, value: /v2}}]
            backendRefs: [{name: web-v2, port: 8080}]

        """;

    private const string Server = """
        import sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        name = sys.argv[1].encode()
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                self.send_response(200); self.send_header("Content-Length", str(len(name))); self.end_headers(); self.wfile.write(name)
            def log_message(self, *a): pass
        s = ThreadingHTTPServer(("0.0.0.0", 8080), H); s.timeout = 60
        print("listening", flush=True); s.serve_forever()
        """;

    // N GETs of PATH over 4 keep-alive connections (in parallel, so the run is short); prints the count per answer body.
    private const string Client = """
        import collections, http.client, sys, threading
        host, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
        counts, lock = collections.Counter(), threading.Lock()
        def run(k):
            c = http.client.HTTPConnection(host, 80, timeout=10)
            for _ in range(k):
                c.request("GET", path); r = c.getresponse(); body = r.read().decode()
                with lock: counts[body if r.status == 200 else "status-%d" % r.status] += 1
        threads = [threading.Thread(target=run, args=(n // 4 + (1 if i < n % 4 else 0),)) for i in range(4)]
        for t in threads: t.start()
        for t in threads: t.join(150)
        print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))
        """;

    [SkippableFact]
    public void CanaryWeightsSplitRequestsAndPathsPickTheirRule()
    {
        Requires.RootAnd("ip", "python3");
        using var set = new NetnsSet();
        var (dp, client, v1, v2, config) = Lay(set);
        var fwd = set.Start(dp, ["dotnet", Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll"), "run", "--config", config,
            "--backend", "af_packet", "--ct-max", "8192", .. PodTopology.AgentArgs(config)]);
        var s1 = set.Start(v1, "python3", "-u", "-c", Server, "v1");
        var s2 = set.Start(v2, "python3", "-u", "-c", Server, "v2");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.True(s1.WaitFor("listening", Short) && s2.WaitFor("listening", Short), s1.Output + s2.Output);

            var canary = set.Exec(client, TimeSpan.FromSeconds(180), "python3", "-c", Client, Web, "/", "1000");
            Assert.True(canary.Ok, $"requests failed: {canary.Output}\n{fwd.Output}");
            output.WriteLine("1000 requests to /: " + canary.Stdout.Trim());
            var counts = canary.Stdout.Trim().Split(' ').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => int.Parse(kv[1], CultureInfo.InvariantCulture));
            Assert.Equal(["v1", "v2"], counts.Keys.Order());
            Assert.Equal(1000, counts["v1"] + counts["v2"]);
            Assert.InRange(counts["v2"], 60, 140);

            // The PathPrefix rule wins over the catch-all for its paths: all to v2.
            var pinned = set.Exec(client, Short, "python3", "-c", Client, Web, "/v2/page", "8");
            Assert.Equal("v2=8", pinned.Stdout.Trim());
        }
        finally
        {
            fwd.Stop(TimeSpan.FromSeconds(15));
            output.WriteLine(fwd.Output);
        }
    }

    /// <summary>The node's namespace dp with three pods (client; v1 and v2 labelled app: web), the Services web (80 → 8080, both pods), web-v1, web-v2 and the route.</summary>
    private static (string Dp, string Client, string V1, string V2, string Config) Lay(NetnsSet set)
    {
        string dp = set.Add("d"), client = set.Add("c"), v1 = set.Add("v1"), v2 = set.Add("v2");
        string config = set.Dir("cfg");
        NetnsSet.KernelStaysOff(dp);
        var yaml = new StringBuilder(PodTopology.NodeYaml);
        foreach (var (name, ns, ip, mac, labels) in new[]
                 {
                     ("client", client, "198.18.100.10", "02:00:00:00:c3:01", "{app: client}"),
                     ("v1", v1, "198.18.100.21", "02:00:00:00:c3:02", "{app: web, version: v1}"),
                     ("v2", v2, "198.18.100.22", "02:00:00:00:c3:03", "{app: web, version: v2}"),
                 })
        {
            string lxc = PodTopology.LxcName("default", name);
            set.Veth(lxc, dp, "eth0", ns);
            Sh.Must("ip", "-n", ns, "link", "set", "eth0", "address", mac);
            Sh.Must("ip", "-n", ns, "addr", "add", $"{ip}/24", "dev", "eth0");
            NetnsSet.Up(ns, "eth0");
            NetnsSet.Up(dp, lxc);
            Sh.Must("ip", "-n", ns, "route", "add", "default", "via", "198.18.100.1", "dev", "eth0");
            yaml.Append($"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\n  labels: {labels}\n" +
                        $"  annotations: {{dataplane.io/mac: \"{mac}\"}}\nspec: {{nodeName: dp}}\nstatus: {{podIPs: [{{ip: {ip}}}]}}\n");
        }
        foreach (var (svc, vip, port, backends) in new[]
                 {
                     ("web", Web, 80, new[] { "198.18.100.21", "198.18.100.22" }),
                     ("web-v1", WebV1, 8080, new[] { "198.18.100.21" }),
                     ("web-v2", WebV2, 8080, new[] { "198.18.100.22" }),
                 })
        {
            yaml.Append($"---\napiVersion: v1\nkind: Service\nmetadata: {{name: {svc}, namespace: default}}\n" +
                        $"spec: {{clusterIP: {vip}, ports: [{{name: http, port: {port}, targetPort: 8080}}]}}\n" +
                        $"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: {svc}-1, namespace: default, labels: {{kubernetes.io/service-name: {svc}}}}}\n" +
                        "addressType: IPv4\nports: [{name: http, port: 8080, protocol: TCP}]\nendpoints:\n" +
                        string.Concat(backends.Select(b => $"- {{addresses: [{b}], nodeName: dp, conditions: {{ready: true}}}}\n")));
        }
        File.WriteAllText(Path.Combine(config, "cluster.yaml"), yaml.ToString());
        File.WriteAllText(Path.Combine(config, "route.yaml"), Route);
        return (dp, client, v1, v2, config);
    }
}
