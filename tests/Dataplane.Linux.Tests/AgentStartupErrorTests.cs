using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Issue 23 item 7: every start-up failure of `run` is one line on stderr — <c>dataplane-node: WHAT: WHY</c> — and
/// a distinct exit code (docs/node-agent.md), found before the first packet is forwarded. The real agent is run
/// in a pod topology that it would forward for, once per fault: a config directory that is missing or does not
/// validate, a node interface that does not exist, an API socket whose directory cannot be made or whose path
/// is too long, a state directory that cannot be made, a --ct-dir that is not a tmpfs, a metrics port another
/// process holds. Each run must exit with its code, print exactly one line naming the cause, say nothing of
/// forwarding or ports, and leave no socket and no lock behind; dataplane-gateway answers the same way. Then the
/// same agent with the faults removed starts and forwards, so the refusals were not the topology.
/// </summary>
public sealed class AgentStartupErrorTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);
    private static string Dll(string name) => Path.Combine(AppContext.BaseDirectory, name);

    [SkippableFact]
    public void EveryStartupFailureIsOneLineAndItsOwnExitCodeBeforeForwarding()
    {
        Requires.RootAnd("ip", "ping", "python3");
        using var topo = new PodTopology("");
        string dir = topo.ConfigDir, suffix = topo.Suffix;
        string scratch = Path.Combine(Path.GetTempPath(), $"dpt-startup-{suffix}");
        string onDisk = Path.Combine(AppContext.BaseDirectory, $"dpt-startup-{suffix}");
        Directory.CreateDirectory(scratch);
        try
        {
            string aFile = Path.Combine(scratch, "a-file");
            File.WriteAllText(aFile, "not a directory\n");
            string socket = Path.Combine(scratch, "agent.sock");
            string state = Path.Combine(scratch, "state");
            string[] good = ["--socket", socket, "--state-dir", state];

            // A config directory with a node interface that does not exist.
            string noIf = Path.Combine(scratch, "no-if");
            Directory.CreateDirectory(noIf);
            File.WriteAllText(Path.Combine(noIf, "cluster.yaml"), File.ReadAllText(Path.Combine(dir, "cluster.yaml")).Replace(
                """spec: {routerMac: "02:00:00:00:00:99"}""",
                $$"""spec: {routerMac: "02:00:00:00:00:99", interfaces: [{name: nosuch{{suffix}}, mac: "02:00:00:00:0a:01", addresses: ["198.18.0.1/24"]}]}"""));
            // A config directory that does not validate.
            string bad = Path.Combine(scratch, "bad");
            Directory.CreateDirectory(bad);
            File.Copy(Path.Combine(dir, "cluster.yaml"), Path.Combine(bad, "cluster.yaml"));
            File.WriteAllText(Path.Combine(bad, "policy.yaml"), "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\nspec:\n  endpointSelector: {matchLabels: {app: server}}\n  ingress: [{fromEndpoints: 7}]\n");

            // A port held in the agent's namespace, as another exporter would hold it.
            int port = 20000 + Random.Shared.Next(20000);
            using var holder = topo.Start(topo.DataplaneNs, "python3", "-u", "-c",
                $"import socket,time;s=socket.socket();s.bind(('127.0.0.1',{port}));s.listen();print('holding',flush=True);time.sleep(600)");
            Assert.True(holder.WaitFor("holding", TimeSpan.FromSeconds(20)), holder.Output);

            var faults = new (string Name, string Program, string Config, string[] Args, int Code, string Line)[]
            {
                ("missing config dir", "dataplane-node", Path.Combine(scratch, "none"), good, 2, @"--config \S+/none: no such directory"),
                ("config that does not validate", "dataplane-node", bad, good, 2, @"--config \S+/bad: .*policy\.yaml:\d+:\d+: "),
                ("node interface missing", "dataplane-node", noIf, good, 4, $@"interface nosuch{suffix}: no such interface"),
                ("socket directory is a file", "dataplane-node", dir, ["--socket", Path.Combine(aFile, "agent.sock"), "--state-dir", state], 5, @"--socket \S+/a-file/agent\.sock: "),
                ("socket path too long", "dataplane-node", dir, ["--socket", Path.Combine(scratch, new string('s', 120) + ".sock"), "--state-dir", state], 5, @"--socket \S+: \d+ bytes long"),
                ("state directory is a file", "dataplane-node", dir, ["--socket", socket, "--state-dir", Path.Combine(aFile, "state")], 7, @"--state-dir \S+/a-file/state: "),
                ("metrics port taken", "dataplane-node", dir, [.. good, "--metrics-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], 6,
                    $@"--metrics-address 127\.0\.0\.1 --metrics-port {port}: "),
                ("gateway: missing config dir", "dataplane-gateway", Path.Combine(scratch, "none"), ["--socket", socket], 2, @"--config \S+/none: no such directory"),
            };
            // A --ct-dir on a disk: beside the test binaries, not in the temporary directory, which some machines keep
            // on a tmpfs (there the agent rightly accepts it). Left out, with the reason, where that is a tmpfs too.
            var fs = Sh.Run("stat", "-f", "-c", "%T", AppContext.BaseDirectory);
            if (fs.Ok && fs.Stdout.Trim() != "tmpfs")
                faults = [.. faults, ("ct-dir not on a tmpfs", "dataplane-node", dir, [.. good, "--ct-dir", Path.Combine(onDisk, "ct")], 8, @"--ct-dir \S+/ct: is not on a tmpfs")];
            else output.WriteLine($"ct-dir case left out: {AppContext.BaseDirectory} is on {fs.Output.Trim()}, no disk directory to try");
            foreach (var f in faults)
            {
                var locksBefore = InterfaceLocks(topo);
                var r = topo.Exec(topo.DataplaneNs, Limit, ["dotnet", Dll($"{f.Program}.dll"), "run", "--config", f.Config, "--backend", "af_packet", .. f.Args]);
                string context = $"{f.Name}: exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}";
                output.WriteLine(context);
                Assert.False(r.TimedOut, context);
                Assert.True(r.ExitCode == f.Code, context);
                string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Matches($"^{f.Program}: {f.Line}", line);
                Assert.DoesNotContain("forwarding on", r.Stdout);
                Assert.DoesNotContain("run: port", r.Stdout);
                Assert.DoesNotContain("   at ", r.Stdout + r.Stderr);   // no stack trace
                Assert.False(File.Exists(socket) || File.Exists(socket + ".lock"), $"{f.Name}: a socket or its lock was left");
                Assert.Equal(locksBefore, InterfaceLocks(topo));   // no interface lock taken (none created, no pid written)
            }

            // Without the faults, the same agent starts and forwards.
            var agent = topo.Start(topo.DataplaneNs, ["dotnet", Dll("dataplane-node.dll"), "run", "--config", dir, "--backend", "af_packet", .. good]);
            try
            {
                Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), agent.Output);
                PingAssert.EveryRequestAnswered(topo.Ping(topo["client"], topo["server"], 3).Output, 3);
                Assert.True(agent.Stop(TimeSpan.FromSeconds(20)), agent.Output);
                Assert.Equal(0, agent.ExitCode);
            }
            finally { output.WriteLine(agent.Output); }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
            if (Directory.Exists(onDisk)) Directory.Delete(onDisk, recursive: true);
        }
    }

    /// <summary>
    /// The lock files of this topology's namespace (named by its inode) under /run/dataplane/locks, with their times:
    /// an agent taking a lock creates the file or writes its pid beside it. (Inodes are reused, so files of earlier
    /// runs may be there; what counts is that a refused start changes none.)
    /// </summary>
    private static List<string> InterfaceLocks(PodTopology topo)
    {
        string inode = Sh.Must("stat", "-L", "-c", "%i", $"/var/run/netns/{topo.DataplaneNs}").Trim();
        return Directory.Exists("/run/dataplane/locks")
            ? [.. Directory.GetFiles("/run/dataplane/locks", $"{inode}-*").Order(StringComparer.Ordinal).Select(f => $"{f} {File.GetLastWriteTimeUtc(f):O}")]
            : [];
    }
}
