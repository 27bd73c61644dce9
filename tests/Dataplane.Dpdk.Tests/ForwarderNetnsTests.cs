using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Dataplane.Dpdk.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Dpdk.Tests;

/// <summary>
/// End to end through `dataplane-node run --backend dpdk` between network namespaces: net_af_packet vdevs on veths
/// (explicit mapping, and the default mapping for pod interfaces with a policy drop), net_tap devices moved into
/// the client's and server's namespaces; DPDK errors are clear messages and a non-zero exit. Every run has its
/// own --file-prefix and must leave no runtime directory and no hugepages behind.
/// </summary>
public sealed partial class ForwarderNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private static readonly string Echo = Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");

    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void VethVdevsForwardPingTcpUdpCountTtlDropCleanUp(string driver)
    {
        DpdkEnv.Require(namespaces: true);
        long huge0 = DpdkEnv.HugepagesTotal();
        using var topo = new NetnsTopology();
        string prefix = DpdkEnv.NewPrefix();
        var fwd = topo.StartForwarder("dpdk", "--dpdk-args",
            $"--vdev net_{driver}0,iface={topo.DpClientIf} --vdev net_{driver}1,iface={topo.DpServerIf} --file-prefix {prefix}");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains($"port 0 {topo.DpClientIf} (Interface): dpdk net_{driver}0 (driver net_{driver}", fwd.Output);
            Assert.True(Directory.Exists(DpdkEnv.RuntimeDir(prefix)) || !fwd.Output.Contains("--in-memory"), "EAL runtime directory missing while running");

            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp6);
            EchoTraffic.Serve(topo.Start, topo.ServerNs, udp: true);
            foreach (var ip in new[] { NetnsTopology.ServerIp4, NetnsTopology.ServerIp6 })
            {
                EchoTraffic.Tcp(topo.Exec, topo.ClientNs, ip, 2000000, context: fwd.Output);
                EchoTraffic.Udp(topo.Exec, topo.ClientNs, ip, fwd.Output);
            }
            Assert.False(topo.Exec(topo.ClientNs, Short, "ping", "-c", "2", "-i", "0.2", "-t", "1", "-W", "1", NetnsTopology.ServerIp4).Ok);

            // No static neighbour anywhere: the server learned our MAC from the ARP request and solicitation we sent
            // (frames copied into mbufs of our pool), and our table lists the server with its own.
            Assert.DoesNotContain("neighbors:", File.ReadAllText(Path.Combine(topo.ConfigDir, "node.yaml")));
            string ours = topo.Mac(topo.DataplaneNs, topo.DpServerIf), server = topo.Mac(topo.ServerNs, topo.ServerIf);
            foreach (var (family, gw) in new[] { ("-4", NetnsTopology.ServerGw4), ("-6", NetnsTopology.ServerGw6) })
                Assert.Contains($"lladdr {ours}", topo.Exec(topo.ServerNs, Short, "ip", family, "neigh", "show", gw).Output, StringComparison.OrdinalIgnoreCase);
            using (var api = Dataplane.Host.Api.AgentSocket.CreateClient(PodTopology.SocketOf(topo.ConfigDir), Short))
            {
                var status = api.GetFromJsonAsync<Dataplane.Host.Api.AgentStatus>("v1/status", System.Text.Json.JsonSerializerOptions.Web).GetAwaiter().GetResult()!;
                var learned = status.Neighbors ?? [];
                foreach (var ip in new[] { NetnsTopology.ServerIp4, NetnsTopology.ServerIp6 })
                    Assert.True(learned.Exists(n => n.Ip == ip && string.Equals(n.Mac, server, StringComparison.OrdinalIgnoreCase)),
                        $"{ip} ({server}) not learned: {string.Join("; ", learned)}");
            }

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "forwarder did not stop on SIGTERM:\n" + fwd.Output);
            string log = fwd.Output;
            output.WriteLine(log);
            Assert.Equal(0, fwd.ExitCode);
            Assert.Matches(@"exit:   drop TTL_EXCEEDED \(196\): [1-9]", log);
            var tx = ExitTxRegex().Match(log);
            Assert.True(tx.Success && long.Parse(tx.Groups[1].Value) > 1000, "too few packets forwarded:\n" + log);
            Assert.Matches($@"exit:   dpdk net_{driver}1: rx \d+, tx [1-9]", log);
            AssertNoLeftovers(prefix, huge0, log);
        }
        finally { fwd.Dispose(); }
    }

    /// <summary>
    /// Veths at default offloads through DPDK's net_af_xdp PMD: partial checksums arrive unmarked and are completed
    /// by the port; TSO super-frames never reach XDP (a native XDP program on a veth turns its peer's GSO off). An
    /// 8 MiB TCP transfer over IPv4 and IPv6 arrives with the same SHA-256. (net_af_packet is not offered: that PMD
    /// reads a TPACKET_V2 ring without the virtio header, so a TSO super-frame reaches it truncated to its frame size.)
    /// </summary>
    [SkippableFact]
    public void AfXdpVdevsDefaultOffloadsBulkTcpArrivesIntact()
    {
        DpdkEnv.Require(namespaces: true);
        long huge0 = DpdkEnv.HugepagesTotal();
        using var topo = new NetnsTopology(defaultOffloads: true);
        string prefix = DpdkEnv.NewPrefix();
        var fwd = topo.StartForwarder("dpdk", "--dpdk-args",
            $"--vdev net_af_xdp0,iface={topo.DpClientIf} --vdev net_af_xdp1,iface={topo.DpServerIf} --file-prefix {prefix}");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            BulkTcp.BothFamilies(topo, fwd.Output);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "forwarder did not stop on SIGTERM:\n" + fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            AssertNoLeftovers(prefix, huge0, fwd.Output);
        }
        finally { fwd.Dispose(); }
    }

    [SkippableFact]
    public void NetTapForwardsPingAndTcp()
    {
        DpdkEnv.Require(namespaces: true);
        long huge0 = DpdkEnv.HugepagesTotal();
        using var topo = new TapTopology();
        string prefix = DpdkEnv.NewPrefix();
        var fwd = topo.StartForwarder("--dpdk-args", $"{topo.VdevArgs} --file-prefix {prefix}");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains("driver net_tap", fwd.Output);
            topo.Wire();
            PingAssert.Reaches(topo.Exec, topo.ClientNs, TapTopology.ServerIp4);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, TapTopology.ServerIp6);
            EchoTraffic.Serve(topo.Start, topo.ServerNs);
            EchoTraffic.Tcp(topo.Exec, topo.ClientNs, TapTopology.ServerIp4, 2000000, context: fwd.Output);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "forwarder did not stop on SIGTERM:\n" + fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            AssertNoLeftovers(prefix, huge0, fwd.Output);
        }
        finally { fwd.Dispose(); }
    }

    /// <summary>--queues 2 with the default mapping: af_packet vdevs with qpairs=2 (PACKET_FANOUT), one worker per queue.</summary>
    [SkippableFact]
    public void TwoQueuesDefaultMappingTwoWorkersForward()
    {
        DpdkEnv.Require(namespaces: true);
        using var topo = new NetnsTopology(queues: 2);
        var fwd = topo.StartForwarder("dpdk", "--queues", "2");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains("2 worker(s)", fwd.Output);
            Assert.Contains(",qpairs=2", fwd.Output);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4);
            EchoTraffic.Serve(topo.Start, topo.ServerNs);
            EchoTraffic.Tcp(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4, 500000, rounds: 4, context: fwd.Output);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            Assert.Contains("queue 1:", fwd.Output);
        }
        finally { fwd.Dispose(); }
    }

    /// <summary>No --dpdk-args at all: every pod interface gets an af_packet vdev; the policy's drop is counted.</summary>
    [SkippableFact]
    public void DefaultMappingPodPolicyAllowedPassesDeniedIsCounted()
    {
        DpdkEnv.Require(namespaces: true);
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        var fwd = topo.StartForwarder("dpdk");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains("dpdk net_af_packet_lxc", fwd.Output);
            Assert.Contains("--no-huge", fwd.Output);
            var server = topo["server"];
            var allowed = topo.Start(server.Ns, "python3", Echo, "tcp-server", "8080");
            var denied = topo.Start(server.Ns, "python3", Echo, "tcp-server", "9090");
            Assert.True(allowed.WaitFor("listening", Short) && denied.WaitFor("listening", Short), allowed.Output + denied.Output);
            var ok = topo.Exec(topo["client"].Ns, Short, "python3", Echo, "tcp-client", server.Ip, "8080", "100000");
            Assert.True(ok.Ok && ok.Output.Contains("echoed 100000"), $"allowed connection failed: {ok.Output}\n{fwd.Output}");
            var no = topo.Exec(topo["client"].Ns, Short, "python3", Echo, "tcp-client", server.Ip, "9090", "1000");
            Assert.False(no.Ok, "denied connection succeeded: " + no.Output);
            Assert.DoesNotContain("served", denied.Output);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "forwarder did not stop:\n" + fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            Assert.Matches(@"exit:   drop POLICY_DENIED \(133\): [1-9]", fwd.Output);
            Assert.False(Directory.Exists(DpdkEnv.RuntimeDir($"dataplane-{fwd.Pid}")), "runtime directory left behind");
        }
        finally { fwd.Dispose(); }
    }

    [SkippableTheory]
    [InlineData("--vdev net_bogus0", "failed to parse device \"net_bogus0\"")]
    [InlineData("--vdev net_af_packet0,iface=nosuchif0", "--vdev net_af_packet0,iface=nosuchif0 did not create a port")]
    [InlineData("--no-huge -m 8", "cannot create mbuf pool")]
    public void DpdkSetupErrorsAreClearMessagesNotCrashes(string args, string expected)
    {
        DpdkEnv.Require(namespaces: true);
        using var topo = new NetnsTopology();
        string prefix = DpdkEnv.NewPrefix();
        var fwd = topo.StartForwarder("dpdk", "--dpdk-args", $"{args} --file-prefix {prefix}");
        try
        {
            // Waits for the exit (the ready line must never come).
            Assert.False(fwd.WaitFor("run: forwarding", TimeSpan.FromSeconds(60)), "forwarder started:\n" + fwd.Output);
            Assert.True(fwd.HasExited, "forwarder neither started nor exited:\n" + fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(9, fwd.ExitCode);   // the backend refused to start (docs/node-agent.md, exit codes)
            Assert.Contains("dataplane-node: --backend dpdk: ", fwd.Output);
            Assert.Contains(expected, fwd.Output);
            Assert.DoesNotContain("Unhandled exception", fwd.Output);
            Assert.False(Directory.Exists(DpdkEnv.RuntimeDir(prefix)), "runtime directory left behind");
        }
        finally { fwd.Dispose(); }
    }

    private static void AssertNoLeftovers(string prefix, long hugepagesBefore, string log)
    {
        Assert.False(Directory.Exists(DpdkEnv.RuntimeDir(prefix)), "runtime directory left behind:\n" + log);
        Assert.Equal(hugepagesBefore, DpdkEnv.HugepagesTotal());
    }



    [GeneratedRegex(@"exit: rx \d+ packets \(\d+ bytes\), tx (\d+)")]
    private static partial Regex ExitTxRegex();
}
