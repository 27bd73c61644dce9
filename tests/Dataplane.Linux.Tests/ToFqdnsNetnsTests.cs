using System.Text;
using Dataplane.Testing.Netns;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// toFQDNs as a Cilium user writes it, with a real DNS server: dnsmasq in a pod answers alias.allowed.test with a CNAME
/// to www.allowed.test and its A record 198.18.102.1 (TTL 1 s), and www.other.test with 198.18.102.2; both addresses
/// are TCP servers on an outside host behind the node's uplink (masqueraded). The client's egress policy allows DNS
/// to the dns pod through the DNS proxy (<c>rules.dns: [{matchPattern: "*"}]</c>) and TCP 8080 to
/// <c>toFQDNs: [{matchName: alias.allowed.test}]</c>; the agent runs with <c>--tofqdns-min-ttl 4</c>. Before any
/// lookup 198.18.102.1 is closed; once the client looked up alias.allowed.test (the CNAME chain is followed) it is open;
/// 198.18.102.2, whose name was resolved but is not selected, stays closed; a few seconds later the entry expires and
/// 198.18.102.1 is closed again — each denial a POLICY_DENIED drop in the flows.
/// </summary>
public sealed class ToFqdnsNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private const string NodeIp = "198.18.102.254", Allowed = "198.18.102.1", Other = "198.18.102.2", DnsIp = "198.18.100.20";

    private const string Policy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client-fqdn, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints: [{matchLabels: {app: dns}}]
            toPorts:
            - ports: [{port: "53", protocol: UDP}]
              rules:
                dns: [{matchPattern: "*"}]
          - toFQDNs: [{matchName: alias.allowed.test}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]

        """;

    // "lookup NAME SERVER" prints the rcode and the A addresses; "connect IP PORT TIMEOUT" prints what the server answered or why not.
    private const string Probe = """
        import socket, struct, sys
        if sys.argv[1] == "lookup":
            name, server = sys.argv[2], sys.argv[3]
            q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); s.sendto(q, (server, 53))
            a, _ = s.recvfrom(4096)
            def skip(i):
                while a[i] != 0 and a[i] < 0xC0: i += a[i] + 1
                return i + (2 if a[i] >= 0xC0 else 1)
            i, found = skip(12) + 4, []
            for _ in range(struct.unpack(">H", a[6:8])[0]):
                i = skip(i); t, c, ttl, n = struct.unpack(">HHIH", a[i:i + 10]); i += 10
                if t == 1: found.append(socket.inet_ntoa(a[i:i + 4]))
                i += n
            print("rcode", a[3] & 15, "a", ",".join(found))
        else:
            s = socket.socket(); s.settimeout(float(sys.argv[4]))
            try:
                s.connect((sys.argv[2], int(sys.argv[3]))); print("open", s.recv(100).decode())
            except OSError as e:
                print("closed", e)
        """;

    private const string Server = """
        import socket, threading
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 8080)); s.listen(64); s.settimeout(300)
        print("listening", flush=True)
        while True:
            c, peer = s.accept()
            c.sendall(c.getsockname()[0].encode()); c.close()
            print("served", peer[0], flush=True)
        """;

    [SkippableFact]
    public void LookedUpNamesOpenTheirAddressesUntilTheEntryExpires()
    {
        Requires.RootAnd("ip", "python3", "dnsmasq");
        using var set = new NetnsSet();
        var (dp, client, dns, outside, config) = Lay(set);
        string flows = Path.Combine(config, ".agent", "flows.jsonl");
        var fwd = set.Start(dp, ["dotnet", Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll"), "run", "--config", config,
            "--backend", "af_packet", "--ct-max", "4096", "--flows-file", flows, "--tofqdns-min-ttl", "4", .. PodTopology.AgentArgs(config)]);
        var dnsmasq = set.Start(dns, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
            $"--listen-address={DnsIp}", "--port=53", "--local-ttl=1", $"--host-record=www.allowed.test,{Allowed}",
            $"--host-record=www.other.test,{Other}", "--cname=alias.allowed.test,www.allowed.test",
            "--log-queries", "--log-facility=-", "--user=root", "--pid-file=");
        var server = set.Start(outside, "python3", "-u", "-c", Server);
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.True(dnsmasq.WaitFor("started", Short), "dnsmasq did not start: " + dnsmasq.Output);
            Assert.True(server.WaitFor("listening", Short), server.Output);

            // Nothing looked up yet: the toFQDNs rule selects no address.
            AssertClosed(set, client, Allowed, fwd);

            var lookup = Run(set, client, "lookup", "alias.allowed.test", DnsIp);
            Assert.Equal($"rcode 0 a {Allowed}", lookup.Trim());
            Assert.Contains("toFQDNs: alias.allowed.test. → 198.18.102.1 (TTL 1 s): policy recompiled", fwd.Output);
            // A generous bound for the allowed connection (a loaded machine must not fail it), a short one where a drop is expected.
            Assert.Equal($"open {Allowed}", Run(set, client, "connect", Allowed, "8080", "15").Trim());
            Assert.True(server.WaitFor("served " + NodeIp, Short), server.Output);

            // A name the DNS rule lets through but no toFQDNs selector selects: its address stays closed.
            Assert.Equal($"rcode 0 a {Other}", Run(set, client, "lookup", "www.other.test", DnsIp).Trim());
            AssertClosed(set, client, Other, fwd);

            // The entry lives max(TTL 1 s, min TTL 4 s): then the address is denied again (bounded polling).
            string last = "";
            for (int i = 0; i < 40 && !(last.StartsWith("closed", StringComparison.Ordinal) && fwd.Output.Contains("toFQDNs: expired", StringComparison.Ordinal)); i++)
            {
                Thread.Sleep(1000);
                last = Run(set, client, "connect", Allowed, "8080", "3");
            }
            Assert.True(last.StartsWith("closed", StringComparison.Ordinal), $"{Allowed} stayed open: {last}\n{fwd.Output}");
            Assert.Contains("toFQDNs: expired alias.allowed.test. 198.18.102.1: policy recompiled", fwd.Output);

            // Each denial is a POLICY_DENIED drop of the client's SYN (the exporter drains every 20 ms).
            foreach (var ip in new[] { Allowed, Other })
            {
                string? line = null;
                for (int i = 0; i < 50 && line is null; i++)
                {
                    if (File.Exists(flows))
                        line = File.ReadAllLines(flows).FirstOrDefault(l => l.Contains($"\"destination\":\"{ip}\"", StringComparison.Ordinal)
                            && l.Contains("\"drop_reason_desc\":\"POLICY_DENIED\"", StringComparison.Ordinal));
                    if (line is null) Thread.Sleep(200);
                }
                Assert.True(line is not null, $"no POLICY_DENIED flow to {ip}");
            }
        }
        finally
        {
            fwd.Stop(TimeSpan.FromSeconds(15));
            output.WriteLine(fwd.Output);
            output.WriteLine(dnsmasq.Output);
        }
    }

    private void AssertClosed(NetnsSet set, string client, string ip, Testing.Processes.Background fwd)
    {
        var r = Run(set, client, "connect", ip, "8080", "3");
        Assert.True(r.StartsWith("closed timed out", StringComparison.Ordinal), $"{ip} was not silently dropped: {r}\n{fwd.Output}");
    }

    private static string Run(NetnsSet set, string ns, params string[] args)
    {
        var r = set.Exec(ns, TimeSpan.FromSeconds(30), ["python3", "-c", Probe, .. args]);
        return r.Stdout;
    }

    /// <summary>
    /// The node's namespace dp with two pods (client 198.18.100.10, dns 198.18.100.20, default route via the node) and an
    /// uplink to the outside host (198.18.102.1 and .2; the node is 198.18.102.254 there and masquerades pods).
    /// </summary>
    private static (string Dp, string Client, string Dns, string Outside, string Config) Lay(NetnsSet set)
    {
        string dp = set.Add("d"), client = set.Add("c"), dns = set.Add("n"), outside = set.Add("o");
        string config = set.Dir("cfg");
        NetnsSet.KernelStaysOff(dp);
        var yaml = new StringBuilder();
        foreach (var (name, ns, ip, mac) in new[] { ("client", client, "198.18.100.10", "02:00:00:00:c2:01"), ("dns", dns, DnsIp, "02:00:00:00:c2:02") })
        {
            string lxc = PodTopology.LxcName("default", name);
            set.Veth(lxc, dp, "eth0", ns);
            Testing.Processes.Sh.Must("ip", "-n", ns, "link", "set", "eth0", "address", mac);
            Testing.Processes.Sh.Must("ip", "-n", ns, "addr", "add", $"{ip}/24", "dev", "eth0");
            NetnsSet.Up(ns, "eth0");
            NetnsSet.Up(dp, lxc);
            Testing.Processes.Sh.Must("ip", "-n", ns, "route", "add", "default", "via", "198.18.100.1", "dev", "eth0");
            yaml.Append($"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\n  labels: {{app: {name}}}\n" +
                        $"  annotations: {{dataplane.io/mac: \"{mac}\"}}\nspec: {{nodeName: dp}}\nstatus: {{podIPs: [{{ip: {ip}}}]}}\n");
        }
        string up = $"dpu{set.Suffix}";
        set.Veth(up, dp, "eth0", outside);
        Testing.Processes.Sh.Must("ip", "-n", outside, "addr", "add", $"{Allowed}/24", "dev", "eth0");
        Testing.Processes.Sh.Must("ip", "-n", outside, "addr", "add", $"{Other}/24", "dev", "eth0");
        NetnsSet.Up(outside, "eth0");
        NetnsSet.Up(dp, up);
        string upMac = NetnsSet.Mac(dp, up);
        File.WriteAllText(Path.Combine(config, "cluster.yaml"), $$$"""
            apiVersion: v1
            kind: Node
            metadata: {name: dp}
            spec: {podCIDRs: ["198.18.100.0/24"]}
            status: {addresses: [{type: InternalIP, address: {{{NodeIp}}}}]}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: dp}
            spec:
              routerMac: "02:00:00:00:00:99"
              interfaces: [{name: {{{up}}}, mac: "{{{upMac}}}", addresses: ["{{{NodeIp}}}/24"]}]
              masquerade: {enabled: true}

            """ + yaml);
        File.WriteAllText(Path.Combine(config, "policy.yaml"), Policy);
        return (dp, client, dns, outside, config);
    }
}
