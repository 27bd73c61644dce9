using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// End to end: `dataplane-node run` forwards between two veths in its own namespace; ping, TCP and UDP between
/// client and server namespaces pass through it, a TTL-1 ping and an unroutable destination are counted drops with
/// Cilium's reasons, and it keeps forwarding after a link goes down and up. Needs root and iproute2; fails
/// with the reason otherwise.
/// </summary>
public sealed partial class ForwarderNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    /// <summary>
    /// These tests need root, iproute2, iputils-ping and python3 (CI runs as root and installs them): without
    /// them they are reported skipped with the reason.
    /// </summary>
    private static bool CanRun(ITestOutputHelper output)
    {
        Requires.RootAnd("ip", "ping", "python3");
        return true;
    }

    [SkippableFact]
    public void AfPacketForwardsPingTcpUdpCountsDropsSurvivesLinkFlap() => ForwardsEndToEnd("af_packet");

    [SkippableFact]
    public void AfXdpForwardsPingTcpUdpCountsDropsSurvivesLinkFlap() => ForwardsEndToEnd("af_xdp");

    /// <summary>The generic (skb) XDP fallback: forced, reported, and forwarding.</summary>
    [SkippableFact]
    public void AfXdpGenericModeIsReportedAndForwards()
    {
        if (!CanRun(output)) return;
        using var topo = new NetnsTopology();
        var fwd = topo.StartForwarder("af_xdp", "--xdp-mode", "generic");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains("XDP generic", fwd.Output);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp6);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
        }
        finally { fwd.Dispose(); }
    }

    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void TwoQueuesTwoWorkersForward(string backend)
    {
        if (!CanRun(output)) return;
        using var topo = new NetnsTopology(queues: 2);
        var fwd = topo.StartForwarder(backend, "--queues", "2");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains("2 worker(s)", fwd.Output);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp6);
            EchoTraffic.Serve(topo.Start, topo.ServerNs);
            EchoTraffic.Tcp(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4, 1000000, rounds: 4, context: fwd.Output);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            Assert.Contains("queue 1:", fwd.Output);
        }
        finally { fwd.Dispose(); }
    }

    /// <summary>
    /// Interrupt polling (the default): pings and a TCP stream pass, and while idle the worker blocks on its
    /// sockets — about 100 wake-ups a second (its 10 ms bounded wait), where adaptive polling's 50 µs waits make
    /// thousands and busy polling never sleeps at all.
    /// </summary>
    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void InterruptPollingForwardsAndTheIdleWorkerSleeps(string backend)
    {
        if (!CanRun(output)) return;
        using var topo = new NetnsTopology();
        var fwd = topo.StartForwarder(backend, "--poll-mode", "interrupt");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            Assert.Contains("interrupt polling", fwd.Output);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp6);
            EchoTraffic.Serve(topo.Start, topo.ServerNs);
            EchoTraffic.Tcp(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4, 4000000, context: fwd.Output);

            // Idle: every wake-up of the worker thread is one voluntary context switch. A busy-polling worker never
            // blocks (0 of them); one that only yields or naps for microseconds makes thousands in 2 s. How many
            // timed waits fit is the scheduler's business under load (fewer, never more), so only those two
            // failures are asserted, not a rate.
            long before = WorkerWakeups(fwd.Pid);
            Thread.Sleep(2000);
            long idle = WorkerWakeups(fwd.Pid) - before;
            output.WriteLine($"{backend}: {idle} worker wake-ups in 2 s idle");
            Assert.InRange(idle, 1, 400);

            // And it still forwards after sleeping.
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
        }
        finally { fwd.Dispose(); }
    }

    /// <summary>Voluntary context switches of the forwarder's worker thread (dp-worker-0).</summary>
    private static long WorkerWakeups(int pid)
    {
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).Trim() != "dp-worker-0") continue;
            foreach (var line in File.ReadAllLines(Path.Combine(task, "status")))
                if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan("voluntary_ctxt_switches:".Length).Trim());
        }
        Assert.Fail($"no dp-worker-0 thread in process {pid}");
        return 0;
    }

    internal void ForwardsEndToEnd(string backend)
    {
        if (!CanRun(output)) return;
        using var topo = new NetnsTopology();
        var fwd = topo.StartForwarder(backend, "--poll-sleep-us", "50");
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);

            // ICMP both families (the first pings also make the client resolve its gateway through our ARP/NDP responder).
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp4);
            PingAssert.Reaches(topo.Exec, topo.ClientNs, NetnsTopology.ServerIp6);

            // TCP: 4 MB client → server, the server echoes the byte count.
            EchoTraffic.Serve(topo.Start, topo.ServerNs, udp: true);
            foreach (var ip in new[] { NetnsTopology.ServerIp4, NetnsTopology.ServerIp6 })
            {
                EchoTraffic.Tcp(topo.Exec, topo.ClientNs, ip, 4000000, context: fwd.Output);
                EchoTraffic.Udp(topo.Exec, topo.ClientNs, ip, fwd.Output);
            }

            // Drops with reasons: TTL 1 expires at the forwarder; 198.19.0.1 has no route in its config.
            Assert.False(topo.Exec(topo.ClientNs, Short, "ping", "-c", "2", "-i", "0.2", "-t", "1", "-W", "1", NetnsTopology.ServerIp4).Ok);
            Assert.False(topo.Exec(topo.ClientNs, Short, "ping", "-c", "2", "-i", "0.2", "-W", "1", "198.19.0.1").Ok);

            // SIGUSR1 prints the counters while running.
            Sh.kill(fwd.Pid, Sh.SIGUSR1);
            Assert.True(fwd.WaitFor("stats: rx ", Short), fwd.Output);

            // The server-side link goes down and up: the forwarder stays alive and forwards again.
            Sh.Must("ip", "-n", topo.DataplaneNs, "link", "set", topo.DpServerIf, "down");
            topo.Exec(topo.ClientNs, Short, "ping", "-c", "2", "-i", "0.2", "-W", "1", NetnsTopology.ServerIp4);
            Sh.Must("ip", "-n", topo.DataplaneNs, "link", "set", topo.DpServerIf, "up");
            Assert.False(fwd.HasExited, "forwarder exited when the link went down:\n" + fwd.Output);
            bool back = false;
            for (int i = 0; i < 10 && !back; i++)
                back = topo.Exec(topo.ClientNs, Short, "ping", "-c", "1", "-W", "1", NetnsTopology.ServerIp4).Ok;
            Assert.True(back, "no forwarding after link down/up:\n" + fwd.Output);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), "forwarder did not stop on SIGTERM:\n" + fwd.Output);
            string log = fwd.Output;
            output.WriteLine(log);
            Assert.Equal(0, fwd.ExitCode);
            Assert.Matches(@"exit:   drop TTL_EXCEEDED \(196\): [1-9]", log);
            Assert.Matches(@"exit:   drop FIB_LOOKUP_FAILED \(169\): [1-9]", log);
            var tx = ExitTxRegex().Match(log);
            Assert.True(tx.Success && long.Parse(tx.Groups[1].Value) > 2000, "too few packets forwarded:\n" + log);
        }
        finally
        {
            fwd.Dispose();
        }
    }



    [GeneratedRegex(@"exit: rx \d+ packets \(\d+ bytes\), tx (\d+)")]
    private static partial Regex ExitTxRegex();
}
