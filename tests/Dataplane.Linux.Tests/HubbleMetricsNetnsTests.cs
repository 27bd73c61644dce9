using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Hubble's metrics beside Cilium's, as a dashboard reads them: a real Prometheus server (Debian's) scrapes the
/// agent every second and answers PromQL for exactly the drops this test caused (four pings the policy refuses),
/// the TCP SYN and destination port of an allowed connection, and Cilium's own drop counter.
/// </summary>
public sealed class HubbleMetricsNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task PrometheusAnswersForTheDropsTheTestCaused()
    {
        Requires.RootAnd("ip", "ping", "prometheus");
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        using var tmp = new TempDir("dpt-prom-");
        int metricsPort = 20000 + Random.Shared.Next(20000), promPort = metricsPort + 1;
        File.WriteAllText(tmp["prometheus.yml"], $"""
            global: {"{"}scrape_interval: 1s, evaluation_interval: 1s{"}"}
            scrape_configs:
            - job_name: dataplane
              static_configs: [{"{"}targets: ["127.0.0.1:{metricsPort}"]{"}"}]
            """);
        using var agent = topo.StartForwarder("af_packet", "--ct-dir", "", "--hubble-socket", Path.Combine(topo.ConfigDir, ".agent", "hubble.sock"),
            "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture));
        Background? prometheus = null;
        try
        {
            Assert.True(agent.WaitFor("agent: metrics on", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            prometheus = topo.Start(topo.DataplaneNs, "prometheus", "--config.file=" + tmp["prometheus.yml"], "--storage.tsdb.path=" + tmp["data"],
                $"--web.listen-address=127.0.0.1:{promPort}");
            var client = topo["client"];
            var server = topo["server"];
            topo.Ping(client, server, 4);
            using (var echo = topo.Start(server.Ns, "python3", PodTopology.Echo, "tcp-server", "8080"))
            {
                Assert.True(echo.WaitFor("listening", Short), echo.Output);
                var ok = topo.Exec(client.Ns, Short, "python3", PodTopology.Echo, "tcp-client", server.Ip, "8080", "1000");
                Assert.True(ok.Ok, ok.Output);
            }

            double? Query(string promql)
            {
                var r = topo.Exec(topo.DataplaneNs, Short, "python3", "-c",
                    "import sys, urllib.parse, urllib.request; print(urllib.request.urlopen('http://127.0.0.1:" + promPort
                    + "/api/v1/query?query=' + urllib.parse.quote(sys.argv[1])).read().decode())", promql);
                if (!r.Ok) return null;
                var result = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("data").GetProperty("result");
                return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            }
            const string drops = "sum(hubble_drop_total{reason=\"POLICY_DENIED\",protocol=\"ICMPv4\"})";
            await Eventually.True(() => Query(drops) == 4, TimeSpan.FromSeconds(60),
                $"Prometheus did not answer 4 for {drops} (last: {Query(drops)}):\n{prometheus.Output}");
            Assert.Equal(4, Query("sum(hubble_flows_processed_total{type=\"Drop\",verdict=\"DROPPED\"})"));
            Assert.Equal(4, Query("sum(cilium_drop_count_total{reason=\"Policy denied\"})"));
            Assert.True(Query("sum(hubble_tcp_flags_total{flag=\"SYN\",family=\"IPv4\"})") >= 1);
            Assert.True(Query("sum(hubble_tcp_flags_total{flag=\"SYN-ACK\",family=\"IPv4\"})") >= 1);
            Assert.True(Query("sum(hubble_port_distribution_total{protocol=\"TCP\",port=\"8080\"})") >= 1);
            Assert.True(Query("sum(hubble_flows_processed_total{type=\"Trace\",subtype=\"to-endpoint\",verdict=\"FORWARDED\"})") >= 1);
        }
        finally
        {
            prometheus?.Dispose();
            output.WriteLine(agent.Output);
        }
    }
}
