using System.Globalization;
using Dataplane.Linux.Tests.Support;
using Dataplane.Testing.Peers;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// IPFIX export as a network team receives it: nfdump's nfcapd listens in the node's namespace, the agent exports to it
/// (--ipfix-collector, a one-second idle timeout), pods ping (allowed) and send UDP the policy denies, and
/// `nfdump -r` shows each direction's flow with exactly the packets and IP bytes the test sent.
/// </summary>
public sealed class IpfixNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task NfcapdReceivesTheFlowsWithThePacketsAndBytesSent()
    {
        Requires.RootAnd("ip", "ping", "ss", "nfcapd", "nfdump");
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080AndPing);
        int port = 20000 + Random.Shared.Next(20000);
        using var nfcapd = new Nfcapd(topo.DataplaneNs, "127.0.0.1", port);
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
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }
}
