using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// `dataplane-node run --backend ebpf --ebpf-hook tc`: the agent attaches the TC program with tcx ingress links to
/// the pods' lxc interfaces instead of XDP. Ping and allowed TCP pass, a denied connection is dropped and counted as
/// POLICY_DENIED in the status. Without a pin directory the links close with the agent, so the program leaves the
/// interfaces and the pods no longer reach each other; with one the links are pinned, outlive the agent (the pods
/// keep talking while it is down) and the next agent takes them over in place.
/// </summary>
public sealed class AgentEbpfTcTests(ITestOutputHelper output)
{
    private const string Policies = PodPolicies.ServerAllowsTcp8080AndPing;

    [SkippableFact]
    public void TcHookForwardsDropsAndDetachesWithTheAgent()
    {
        Requires.RootAnd("ip", "ping", "python3");
        using var topo = new PodTopology(Policies);
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        var fwd = topo.StartForwarder("ebpf", "--ebpf-hook", "tc", "--bpf-pin-dir", "");
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            var client = topo["client"];
            var server = topo["server"];
            var status = AgentApi.Status(socket);
            Assert.Equal("ebpf, tc (tcx ingress) on 2 interface(s)", status.Mode);
            Assert.All(status.Ports, p => Assert.True(p.Attached, $"{p.Name} has no TC program"));

            var ping = topo.Ping(client, server, 3);
            Assert.True(ping.Ok, "ping through the TC program failed:\n" + ping.Output + fwd.Output);
            topo.AssertTcp8080PassesAnd9090IsDropped(100000, () => fwd.Output);

            var counted = AgentApi.Status(socket);
            Assert.True(counted.DropsByReason.TryGetValue("POLICY_DENIED (133)", out ulong drops) && drops >= 1,
                "no POLICY_DENIED in the status: " + string.Join(", ", counted.DropsByReason));
            Assert.True(counted.TxPackets > 20, $"only {counted.TxPackets} packets forwarded by the program");

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            Assert.Contains("ebpf: TC program detached", fwd.Output);
            Assert.False(topo.Ping(client, server, 1).Ok, "pods still reach each other with the agent gone:\n" + fwd.Output);
        }
        finally
        {
            output.WriteLine(fwd.Output);
        }
    }

    [SkippableFact]
    public void PinnedTcLinksOutliveTheAgentAndTheNextAgentTakesThemOver()
    {
        Requires.RootAnd("ip", "ping", "mount");
        using var topo = new PodTopology(Policies);
        // A bpffs of the test's own, mounted outside /sys: `ip netns exec` remounts /sys for the agent (a bpffs the
        // agent mounted there would vanish with its mount namespace) but inherits this mount.
        string fs = Path.Combine(Path.GetTempPath(), $"dpt-bpffs-{topo.Suffix}");
        string pins = Path.Combine(fs, "dataplane");
        Directory.CreateDirectory(fs);
        Sh.Must("mount", "-t", "bpf", "bpf", fs);
        Background? first = null, second = null;
        try
        {
            var client = topo["client"];
            var server = topo["server"];
            first = topo.StartForwarder("ebpf", "--ebpf-hook", "tc", "--bpf-pin-dir", pins);
            Assert.True(first.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + first.Output);
            Assert.True(topo.Ping(client, server, 2).Ok, "ping through the TC program failed:\n" + first.Output);
            Assert.True(first.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + first.Output);
            Assert.Contains("ebpf: TC program left attached", first.Output);
            Assert.Equal(2, Directory.EnumerateFiles(pins, "tcx_*").Count());
            // No agent: the pinned links keep the program on the interfaces.
            Assert.True(topo.Ping(client, server, 3).Ok, "pods cut off while the agent was down:\n" + first.Output);

            second = topo.StartForwarder("ebpf", "--ebpf-hook", "tc", "--bpf-pin-dir", pins, "--bpf-detach-on-exit");
            Assert.True(second.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "second agent did not start:\n" + second.Output);
            Assert.Equal(2, second.Output.Split('\n').Count(l => l.Contains("ebpf: TC taken over", StringComparison.Ordinal)));
            Assert.True(topo.Ping(client, server, 2).Ok, "ping failed after the take-over:\n" + second.Output);
            // --bpf-detach-on-exit: the pins go, and with them the links and the program.
            Assert.True(second.Stop(TimeSpan.FromSeconds(20)), "second agent did not stop:\n" + second.Output);
            Assert.False(Directory.Exists(pins), "pins left behind by --bpf-detach-on-exit");
            Assert.False(topo.Ping(client, server, 1).Ok, "pods still reach each other after --bpf-detach-on-exit:\n" + second.Output);
        }
        finally
        {
            output.WriteLine(first?.Output ?? "");
            output.WriteLine(second?.Output ?? "");
            second?.Stop(TimeSpan.FromSeconds(10));
            first?.Stop(TimeSpan.FromSeconds(10));
            Sh.Run("umount", fs);
            try { Directory.Delete(fs, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

}
