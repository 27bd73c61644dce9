using System.Text.RegularExpressions;
using Dataplane.Testing.Netns;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// HTTP policy through the node's L7 proxy, end to end with real programs: curl in the client pod against
/// `python3 -m http.server` in the server pod, through `dataplane-node run`. The server admits its client on TCP 8080
/// with one HTTP rule (GET /public…): the datapath redirects the connection to the proxy, which forwards GET /public to
/// the server (its answer comes back), answers POST /admin itself with 403 "Access denied", and port 9090 stays
/// refused by the L3/L4 policy as before (the SYN is dropped). The L7 verdicts are flow records: the flows file as
/// `hubble observe -o json` writes them and `dataplane-node observe` prints them.
/// </summary>
public sealed class L7ProxyNetnsTests(ITestOutputHelper output)
{
    private const string Policy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server-http, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts:
            - ports: [{port: "8080", protocol: TCP}]
              rules:
                http:
                - method: GET
                  path: "/public.*"

        """;

    [SkippableFact]
    public void GetPublicPassesPostAdminGets403AndOtherPortsStayRefused()
    {
        Requires.RootAnd("ip", "python3", "curl");
        using var topo = new PodTopology(Policy);
        var client = topo["client"];
        var server = topo["server"];
        string www = Path.Combine(Path.GetTempPath(), "dp-l7-www-" + topo.Suffix);
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "public"), "hello from the server\n");
        string flows = Path.Combine(Path.GetTempPath(), "dp-l7-flows-" + topo.Suffix + ".jsonl");
        var fwd = topo.StartForwarder("af_packet", "--flows-file", flows);
        using var web = topo.Start(server.Ns, "python3", "-u", "-m", "http.server", "8080", "--bind", server.Ip, "--directory", www);
        using var other = topo.Start(server.Ns, "python3", "-u", "-m", "http.server", "9090", "--bind", server.Ip, "--directory", www);
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains("agent: L7 proxy listening on 198.18.100.254:15001 (HTTP) and UDP 15053 (DNS)", fwd.Output);
            Assert.True(web.WaitFor("Serving HTTP", TimeSpan.FromSeconds(20)) && other.WaitFor("Serving HTTP", TimeSpan.FromSeconds(20)),
                web.Output + other.Output);

            var get = Curl(topo, client.Ns, "-X", "GET", $"http://{server.Ip}:8080/public");
            Assert.True(get.Ok, $"GET /public failed: {get.Output}\n{fwd.Output}");
            Assert.Equal("hello from the server\n|200", get.Stdout.Replace("\r", "").TrimEnd());

            var post = Curl(topo, client.Ns, "-X", "POST", "-d", "x=1", $"http://{server.Ip}:8080/admin");
            Assert.True(post.Ok, $"POST /admin failed: {post.Output}");
            Assert.Equal("Access denied\n|403", post.Stdout.Replace("\r", "").TrimEnd());
            // The server never saw the denied request, and saw the allowed one.
            Assert.Contains("\"GET /public HTTP/1.1\" 200", web.Output);
            Assert.DoesNotContain("/admin", web.Output);

            var refused = Curl(topo, client.Ns, "--connect-timeout", "3", $"http://{server.Ip}:9090/public");
            Assert.False(refused.Ok, "port 9090 was reached: " + refused.Output);
            Assert.DoesNotContain("GET /public", other.Output);

            // The L7 records reach the flows file (the exporter drains every 20 ms) and observe prints them.
            string observed = "";
            for (int i = 0; i < 50 && !observed.Contains("http-response", StringComparison.Ordinal); i++)
            {
                Thread.Sleep(200);
                var o = topo.Exec(topo.DataplaneNs, TimeSpan.FromSeconds(30), "dotnet", Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll"),
                    "observe", "--input-file", flows, "-o", "compact");
                observed = o.Output;
            }
            output.WriteLine(observed);
            Assert.Matches(@"default/client:\d+ \(ID:\d+\) -> default/server:8080 \(ID:\d+\) http-request FORWARDED \(HTTP/1.1 GET http://198.18.100.20:8080/public\)", observed);
            Assert.Matches(@"http-response FORWARDED \(HTTP/1.1 200 \d+ms \(GET http://198.18.100.20:8080/public\)\)", observed);
            Assert.Matches(@"http-request DROPPED \(HTTP/1.1 POST http://198.18.100.20:8080/admin\)", observed);
            Assert.Matches(@"http-response DROPPED \(HTTP/1.1 403 \d+ms \(POST http://198.18.100.20:8080/admin\)\)", observed);
            string json = File.ReadAllText(flows);
            Assert.Matches(new Regex("\"Type\":\"L7\".*\"l7\":\\{\"type\":\"RESPONSE\",\"latency_ns\":\"\\d+\",\"http\":\\{\"code\":200,\"method\":\"GET\",\"url\":\"http://198.18.100.20:8080/public\""), json);
            Assert.Contains("\"ingress_allowed_by\":[{\"name\":\"server-http\"", json);
            // The port outside the policy was dropped by L3/L4 policy, in the flows too.
            Assert.Matches("\"verdict\":\"DROPPED\",\"drop_reason\":133.*\"destination_port\":9090", json);
        }
        finally
        {
            fwd.Stop(TimeSpan.FromSeconds(15));
            output.WriteLine(fwd.Output);
            fwd.Dispose();
            try { Directory.Delete(www, recursive: true); if (Environment.GetEnvironmentVariable("DP_KEEP_FLOWS") is null) File.Delete(flows); } catch (IOException) { }
        }
    }

    /// <summary>curl's body and status code ("BODY|CODE"), bounded by its own timeouts.</summary>
    private static Testing.Processes.Sh.Result Curl(PodTopology topo, string ns, params string[] args) =>
        topo.Exec(ns, TimeSpan.FromSeconds(30), ["curl", "-sS", "--max-time", "10", "-w", "|%{http_code}", .. args]);
}
