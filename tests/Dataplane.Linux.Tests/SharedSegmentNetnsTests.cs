using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The dataplane on a shared segment (a bridge with the client and a third host): it answers the third host's
/// broadcast ARP and multicast neighbour solicitation for its gateway addresses as a host would (`ip neigh` there
/// shows its MAC), forwards what is addressed to its MAC, and routes none of the frames the bridge floods to it
/// for another host's MAC, for broadcast or for an unknown multicast group — those are counted as
/// INVALID_DESTINATION_MAC (131), and the server behind the dataplane never receives them.
/// </summary>
public sealed partial class SharedSegmentNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void OnlyFramesForOurMac_AreRouted_ArpAndNdpAnswered(string backend)
    {
        Assert.True(Sh.IsRoot && Sh.Has("ip") && Sh.Has("ping") && Sh.Has("python3"), "needs root, iproute2, iputils-ping and python3 (scapy)");
        using var topo = new NetnsTopology(sharedSegment: true);
        string dpMac = topo.Mac(topo.DataplaneNs, topo.DpClientIf), otherMac = topo.Mac(topo.OtherNs, topo.OtherIf);
        var fwd = topo.StartForwarder(backend);
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            var ping = topo.Exec(topo.ClientNs, Short, "ping", "-c", "3", "-i", "0.2", "-W", "2", NetnsTopology.ServerIp4);
            Assert.True(ping.Ok, "client → server through the shared segment: " + ping.Output);

            // The third host resolves the gateway addresses by broadcast ARP and multicast NS, as it would a router's.
            topo.Exec(topo.OtherNs, Short, "ping", "-c", "1", "-W", "1", NetnsTopology.ClientGw4);
            topo.Exec(topo.OtherNs, Short, "ping", "-6", "-c", "1", "-W", "1", NetnsTopology.ClientGw6);
            Assert.Contains($"lladdr {dpMac}", Sh.Must("ip", "-n", topo.OtherNs, "neigh", "show", NetnsTopology.ClientGw4));
            Assert.Contains($"lladdr {dpMac}", Sh.Must("ip", "-n", topo.OtherNs, "-6", "neigh", "show", NetnsTopology.ClientGw6));

            // A UDP sink on the server prints every datagram's payload.
            var sink = topo.Start(topo.ServerNs, "python3", "-c", """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 7777)); s.settimeout(30)
                print('listening', flush=True)
                while True:
                    d, a = s.recvfrom(2048); print('got', d.decode(), flush=True)
                """);
            Assert.True(sink.WaitFor("listening", Short), sink.Output);
            // From the third host, UDP to the server behind the dataplane in frames for another host's MAC, for
            // broadcast and for an unknown multicast group (all flooded to the dataplane by the bridge), then in a
            // frame for the dataplane's own MAC. (The source MAC is given: a bridge drops frames from 00:00:00:00:00:00.)
            string frames = string.Join(", ", new[] { ("02:00:5e:aa:bb:cc", "otherhost"), ("ff:ff:ff:ff:ff:ff", "broadcast"),
                ("01:00:5e:01:02:03", "multicast"), (dpMac, "control") }.Select(f =>
                $"Ether(src='{otherMac}', dst='{f.Item1}')/IP(src='{NetnsTopology.OtherIp4}', dst='{NetnsTopology.ServerIp4}')/UDP(sport=40000, dport=7777)/Raw(b'{f.Item2}')"));
            // Debian's python3 (python3-scapy), whatever python3 comes first on PATH.
            var send = topo.Exec(topo.OtherNs, Short, "/usr/bin/python3", "-c",
                $"from scapy.all import Ether, IP, UDP, Raw, sendp\nfor i in range(3): sendp([{frames}], iface='{topo.OtherIf}', verbose=False)");
            Assert.True(send.Ok, "scapy: " + send.Output);
            bool forwarded = sink.WaitFor("got control", Short);
            Thread.Sleep(300);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), fwd.Output);
            string log = fwd.Output;
            output.WriteLine(log);
            Assert.True(forwarded, "the frame for the dataplane's MAC was not forwarded:\n" + sink.Output + "\n" + log);
            Assert.DoesNotContain("otherhost", sink.Output);
            Assert.DoesNotContain("broadcast", sink.Output);
            Assert.DoesNotContain("multicast", sink.Output);
            Assert.Equal(0, fwd.ExitCode);
            var drops = InvalidDmacRegex().Match(log);
            Assert.True(drops.Success && long.Parse(drops.Groups[1].Value) >= 9, "frames not for us were not counted:\n" + log);
        }
        finally { fwd.Dispose(); }
    }

    [GeneratedRegex(@"exit:   drop INVALID_DESTINATION_MAC \(131\): (\d+)")]
    private static partial Regex InvalidDmacRegex();
}
