using System.Globalization;
using Dataplane.Linux.Tests.Support;
using Dataplane.Testing.Peers;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// IPFIX export as a network team receives it: nfdump's nfcapd listens in the node's namespace, the agent exports to it
/// (--ipfix-collector, a one-second idle timeout), pods ping (allowed) and send UDP the policy denies, and
/// `nfdump -r` shows each direction's flow with exactly the packets and IP bytes the test sent. tshark, another
/// decoder, reads the same datagrams off the loopback: the Cilium identities (enterprise elements under PEN 32473) are the
/// pods', the denied flow carries drop reason 133 and forwardingStatus Drop.
/// </summary>
public sealed class IpfixNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task NfcapdReceivesTheFlowsWithThePacketsAndBytesSent()
    {
        Requires.RootAnd("ip", "ping", "ss", "nfcapd", "nfdump", "tshark");
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080AndPing);
        int port = 20000 + Random.Shared.Next(20000);
        using var nfcapd = new Nfcapd(topo.DataplaneNs, "127.0.0.1", port);
        using var pcap = new TempDir("dpt-ipfix-pcap-");
        using var capture = topo.Start(topo.DataplaneNs, "tshark", "-i", "lo", "-f", $"udp port {port}", "-w", pcap["ipfix.pcap"]);
        Assert.True(capture.WaitFor("Capturing on", Short), "tshark did not start: " + capture.Output);
        using var agent = topo.StartForwarder("af_packet", "--ct-dir", "",
            "--ipfix-collector", $"127.0.0.1:{port}", "--ipfix-idle-timeout", "1s", "--ipfix-active-timeout", "60");
        try
        {
            Assert.True(agent.WaitFor("agent: IPFIX export to udp:127.0.0.1:" + port, TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            Assert.True(agent.WaitFor("run: forwarding on", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            var client = topo["client"];
            var server = topo["server"];

            // Five echo requests the policy allows (84-byte IP packets: 20 + 8 + 56), and their replies.
            var ping = topo.Ping(client, server, 5);
            Assert.True(ping.Ok, ping.Output + agent.Output);
            // Three UDP datagrams to a port the policy denies: each 'udp-I' + 200 dots, in a 28-byte IP+UDP header.
            var udp = topo.Exec(client.Ns, Short, "python3", PodTopology.Echo, "udp-client", server.Ip, "5353", "3");
            Assert.True(udp.Ok && udp.Output.Contains("replies 0"), udp.Output);
            long udpBytes = Enumerable.Range(0, 3).Sum(i => 28 + $"udp-{i}".Length + 200);

            // The flows go idle; the agent exports them while it runs (its status counts the records sent).
            string socket = PodTopology.SocketOf(topo.ConfigDir);
            await Eventually.True(() => AgentApi.Status(socket).Ipfix is { Records: >= 3 }, "the agent did not export the three flows:\n" + agent.Output);
            var status = AgentApi.Status(socket).Ipfix!;
            Assert.Equal(0, status.SendErrors);
            var endpoints = AgentApi.Status(socket).Endpoints.ToDictionary(e => e.Name, e => e.Identity);
            Assert.True(nfcapd.Stop(), "nfcapd did not stop on SIGTERM");
            output.WriteLine(nfcapd.Output);
            var flows = nfcapd.Flows();
            foreach (var f in flows) output.WriteLine(f.Raw);

            NfdumpFlow Sum(string src, string dst, int proto, Func<NfdumpFlow, bool>? also = null)
            {
                var match = flows.Where(f => f.Src == src && f.Dst == dst && f.Proto == proto && (also?.Invoke(f) ?? true)).ToList();
                Assert.True(match.Count > 0, $"nfdump shows no flow {src} → {dst} proto {proto}:\n" + string.Join('\n', flows.Select(f => f.Raw)));
                Assert.All(match, f => Assert.True(f.End >= f.Start, f.Raw));
                return match[0] with { Packets = match.Sum(f => f.Packets), Bytes = match.Sum(f => f.Bytes) };
            }
            var requests = Sum(client.Ip, server.Ip, 1);
            Assert.Equal((5L, 5L * 84), (requests.Packets, requests.Bytes));
            var replies = Sum(server.Ip, client.Ip, 1);
            Assert.Equal((5L, 5L * 84), (replies.Packets, replies.Bytes));
            // ICMP: nfdump shows the type and code where the destination port is (type × 256 + code: 2048 for an echo request).
            Assert.Equal("2048", requests.DstPort);
            var denied = Sum(client.Ip, server.Ip, 17, f => f.DstPort == "5353");
            Assert.Equal((3L, udpBytes), (denied.Packets, denied.Bytes));

            // The same export through tshark's IPFIX dissector: the identities and the drop reason nfdump does not show.
            // The capture is read while it runs until it holds the denied UDP record too: a message sent just before
            // tshark stops may still sit in its capture ring and be lost with it (seen once in CI).
            Sh.Result Decode() => Sh.Run(Short, "tshark", "-r", pcap["ipfix.pcap"], "-d", $"udp.port=={port},cflow", "-V");
            await Eventually.True(() => Decode() is { Ok: true } d && TsharkFlows(d.Stdout).Any(r => r.Contains($"SrcAddr: {client.Ip}\n") && r.Contains("Protocol: UDP (17)")),
                "tshark's capture never held the UDP record nfcapd received", 30);
            Assert.True(capture.Stop(Short), "tshark did not stop: " + capture.Output);
            var decoded = Decode();
            Assert.True(decoded.Ok, decoded.Output);
            var records = TsharkFlows(decoded.Stdout);
            string Hex(uint v, int bytes) => string.Join(' ', BitConverter.GetBytes(v).Reverse().Skip(4 - bytes).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
            string Pen(int type) => $"Enterprise Private entry: (Example Enterprise Number for Documentation Use) Type {type}: Value (hex bytes): ";
            List<string> From(string ip, string proto)
            {
                var match = records.Where(r => r.Contains($"SrcAddr: {ip}\n") && r.Contains(proto)).ToList();
                Assert.True(match.Count > 0, $"tshark decoded no {proto} record from {ip}:\n" + decoded.Stdout);
                return match;
            }
            Assert.All(From(client.Ip, "Protocol: ICMP (1)"), request =>
            {
                Assert.Contains(Pen(1) + Hex(endpoints["client"], 4), request);
                Assert.Contains(Pen(2) + Hex(endpoints["server"], 4), request);
                Assert.Contains(Pen(3) + "00", request);
                Assert.Contains("ForwardingStatus: Forward (1)", request);
            });
            Assert.All(From(client.Ip, "Protocol: UDP (17)"), drop =>
            {
                Assert.Contains(Pen(1) + Hex(endpoints["client"], 4), drop);
                Assert.Contains(Pen(2) + Hex(endpoints["server"], 4), drop);
                Assert.Contains(Pen(3) + "85", drop); // 133: policy denied
                Assert.Contains("ForwardingStatus: Drop (2)", drop);
            });
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }

    /// <summary>The data records of `tshark -V`'s IPFIX decode, one text block each (from "Flow N" to the next).</summary>
    private static List<string> TsharkFlows(string verbose)
    {
        var flows = new List<string>();
        System.Text.StringBuilder? current = null;
        foreach (var raw in verbose.Split('\n'))
        {
            string line = raw.Trim();
            bool start = line.StartsWith("Flow ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5), out _);
            if (start || line.StartsWith("Frame ", StringComparison.Ordinal) || line.StartsWith("Set ", StringComparison.Ordinal))
            {
                if (current is not null) flows.Add(current.ToString());
                current = start ? new() : null;
            }
            current?.Append(line).Append('\n');
        }
        if (current is not null) flows.Add(current.ToString());
        return flows;
    }
}
