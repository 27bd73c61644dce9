using Dataplane.Testing.Netns;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// DNS policy through the node's DNS proxy, with a real DNS server: dnsmasq in the server pod answers every name under
/// allowed.test and denied.test. The client's egress policy allows DNS to the server on UDP 53 with
/// <c>rules.dns: [{matchPattern: "*.allowed.test"}]</c>: the datapath redirects the lookups to the proxy, which relays
/// www.allowed.test to dnsmasq (its answer reaches the client) and answers www.denied.test itself with REFUSED (dnsmasq
/// never sees it); a lookup of a name the pattern does not reach (a.b.allowed.test: * stays inside one label, as in
/// Cilium) is refused too.
/// </summary>
public sealed class DnsProxyNetnsTests(ITestOutputHelper output)
{
    private const string Policy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client-dns, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints: [{matchLabels: {app: server}}]
            toPorts:
            - ports: [{port: "53", protocol: UDP}]
              rules:
                dns:
                - matchPattern: "*.allowed.test"

        """;

    // One A query; prints "rcode N answers M IP".
    private const string Query = """
        import socket, struct, sys
        name, server = sys.argv[1], sys.argv[2]
        q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); s.sendto(q, (server, 53))
        a, peer = s.recvfrom(4096)
        an = struct.unpack(">H", a[6:8])[0]
        print("from", peer[0], "id", hex(struct.unpack(">H", a[0:2])[0]), "rcode", a[3] & 15, "answers", an, socket.inet_ntoa(a[-4:]) if an else "-")
        """;

    [SkippableFact]
    public void AllowedNamesAreRelayedAndOthersRefused()
    {
        Requires.RootAnd("ip", "python3", "dnsmasq");
        using var topo = new PodTopology(Policy);
        var client = topo["client"];
        var server = topo["server"];
        string flows = Path.Combine(Path.GetTempPath(), "dp-dns-flows-" + topo.Suffix + ".jsonl");
        var fwd = topo.StartForwarder("af_packet", "--flows-file", flows);
        using var dns = topo.Start(server.Ns, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
            $"--listen-address={server.Ip}", "--port=53", "--address=/allowed.test/198.18.101.1", "--address=/denied.test/198.18.101.2",
            "--log-queries", "--log-facility=-", "--user=root", "--pid-file=");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.True(dns.WaitFor("started", TimeSpan.FromSeconds(20)), "dnsmasq did not start: " + dns.Output);

            var allowed = Lookup(topo, client.Ns, "www.allowed.test", server.Ip);
            Assert.True(allowed.Ok, $"lookup failed: {allowed.Output}\n{fwd.Output}");
            // The answer comes back from the server's address (the proxy's reply is reverse-translated), with dnsmasq's A record.
            Assert.Equal($"from {server.Ip} id 0x1234 rcode 0 answers 1 198.18.101.1", allowed.Stdout.Trim());
            Assert.Contains("query[A] www.allowed.test", dns.Output);

            var denied = Lookup(topo, client.Ns, "www.denied.test", server.Ip);
            Assert.Equal($"from {server.Ip} id 0x1234 rcode 5 answers 0 -", denied.Stdout.Trim());
            var deep = Lookup(topo, client.Ns, "a.b.allowed.test", server.Ip);
            Assert.Equal($"from {server.Ip} id 0x1234 rcode 5 answers 0 -", deep.Stdout.Trim());
            Assert.DoesNotContain("denied.test", dns.Output);
            Assert.DoesNotContain("a.b.allowed.test", dns.Output);

            // Each verdict is an L7 DNS record in the flows (the exporter drains every 20 ms).
            string json = "";
            for (int i = 0; i < 50 && !json.Contains("a.b.allowed.test", StringComparison.Ordinal); i++)
            {
                Thread.Sleep(200);
                json = File.Exists(flows) ? File.ReadAllText(flows) : "";
            }
            Assert.Matches("\"verdict\":\"FORWARDED\".*\"Type\":\"L7\".*\"dns\":\\{\"query\":\"www.allowed.test.\"", json);
            Assert.Matches("\"verdict\":\"DROPPED\".*\"Type\":\"L7\".*\"dns\":\\{\"query\":\"www.denied.test.\",\"observation_source\":\"proxy\",\"rcode\":5", json);
        }
        finally
        {
            fwd.Stop(TimeSpan.FromSeconds(15));
            output.WriteLine(fwd.Output);
            output.WriteLine(dns.Output);
            fwd.Dispose();
            File.Delete(flows);
        }
    }

    private static Testing.Processes.Sh.Result Lookup(PodTopology topo, string ns, string name, string server) =>
        topo.Exec(ns, TimeSpan.FromSeconds(30), "python3", "-c", Query, name, server);
}
