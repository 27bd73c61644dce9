using System.IO.Hashing;
using System.Text.RegularExpressions;
using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Netns;

/// <summary>
/// The issue's restart reproduction against `dataplane-node run` on a C# backend, shared by the af_packet/af_xdp and
/// the dpdk test projects. A long-lived TCP connection runs from the client pod to the server pod; the agent is
/// killed with SIGKILL while it carries the connection, a message is sent while nothing forwards, and the agent comes
/// back with the policy `endpointSelector: {}`, `ingress: [{}]` (no pod admits any new connection): only the
/// connection's conntrack entry, re-attached from the shared file, lets the late message and the next ones through,
/// while a new connection is dropped (133). Then the file is rewritten as a build with another layout version would
/// have left it and the agent restarted with no policy: the file is discarded with the reason, the table starts
/// empty and the connection is re-learned from its next packet. With <c>shared: false</c> (memory-only tables) the
/// same kill breaks the connection — what the issue reported, and the proof that the first run can fail.
/// </summary>
public static class AgentRestart
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20), Retransmit = TimeSpan.FromSeconds(45);

    public const string DenyAllIngress = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: lockdown, namespace: default}
        spec:
          endpointSelector: {}
          ingress: [{}]
        """;

    public static string Persist => Path.Combine(AppContext.BaseDirectory, "Support", "persist.py");

    /// <summary>Skips unless /dev/shm is a tmpfs (where the test keeps the agent's tables).</summary>
    public static string NewConntrackDir(string suffix)
    {
        var fs = Sh.Run("stat", "-f", "-c", "%T", "/dev/shm");
        Skip.IfNot(fs.Ok && fs.Stdout.Trim() == "tmpfs", "/dev/shm is not a tmpfs: " + fs.Output);
        return $"/dev/shm/dpt-ct-{suffix}";
    }

    /// <param name="start">Starts the agent on <paramref name="topo"/> with the extra arguments given (the test's backend).</param>
    /// <param name="killed">After the SIGKILL: what the killed agent left behind to clean (DPDK's runtime directory).</param>
    public static void Run(PodTopology topo, Func<string[], Background> start, bool shared, Action<string> log, Action<int>? killed = null)
    {
        string ctDir = NewConntrackDir(topo.Suffix);
        string flags = Directory.CreateTempSubdirectory("dpt-go-").FullName;
        string[] args = ["--ct-dir", shared ? ctDir : ""];
        var client = topo["client"];
        var server = topo["server"];
        Background? agent = null;
        try
        {
            File.WriteAllText(Path.Combine(topo.ConfigDir, "policy.yaml"), "");
            agent = Started(start(args), log);
            if (shared) Assert.Contains("agent: conntrack: worker 0: new table in " + ctDir, agent.Output);

            var srv = topo.Start(server.Ns, "python3", Persist, "server", "8080");
            Assert.True(srv.WaitFor("listening", Short), srv.Output);
            var cli = topo.Start(client.Ns, "python3", Persist, "client", server.Ip, "8080", flags);
            Assert.True(cli.WaitFor("connected", Short), "client: " + cli.Output + "\n" + agent.Output);
            Go(flags, 1);
            Assert.True(cli.WaitFor("got msg-1", Short), "before the restart: " + cli.Output + "\n" + agent.Output);

            // SIGKILL: no clean-up of any kind. A message goes out while nothing forwards; its segment is retransmitted.
            int pid = agent.Pid;
            Sh.kill(pid, 9);
            Assert.True(agent.WaitForExit(Short), "the agent survived SIGKILL");
            log(agent.Output);
            agent.Dispose();
            killed?.Invoke(pid);
            Go(flags, 2);
            File.WriteAllText(Path.Combine(topo.ConfigDir, "policy.yaml"), DenyAllIngress);

            agent = Started(start(args), log);
            if (!shared)
            {
                Assert.False(cli.WaitFor("got msg-2", TimeSpan.FromSeconds(15)), "the connection passed without its conntrack entry:\n" + agent.Output);
                AssertPolicyDropsAtExit(agent);
                return;
            }
            Assert.Matches(@"agent: conntrack: worker 0: re-attached [1-9]\d* connection\(s\) from " + Regex.Escape(ctDir), agent.Output);
            Assert.True(cli.WaitFor("got msg-2", Retransmit), "the connection broke across kill -9: " + cli.Output + "\n" + agent.Output);
            Go(flags, 3);
            Assert.True(cli.WaitFor("got msg-3", Short), "after the restart: " + cli.Output + "\n" + agent.Output);
            topo.AssertTcpDropped(client, server, 8080);

            // Another build's layout: discarded with the reason, the connection re-learned (no policy now).
            AssertPolicyDropsAtExit(agent);
            log(agent.Output);
            agent.Dispose();
            string file = Assert.Single(Directory.GetFiles(ctDir, "*-q0.ct"));
            WriteLayoutVersion(file, 99);
            File.WriteAllText(Path.Combine(topo.ConfigDir, "policy.yaml"), "");
            agent = Started(start(args), log);
            Assert.Contains($"agent: conntrack: worker 0: discarded {file} (layout version 99, this build writes 1); starting with an empty table", agent.Output);
            Go(flags, 4);
            Assert.True(cli.WaitFor("got msg-4", Short), "the connection was not re-learned after the discarded table: " + cli.Output + "\n" + agent.Output);
            Assert.True(agent.Stop(Short), "agent did not stop on SIGTERM:\n" + agent.Output);
            Assert.Equal(0, agent.ExitCode);
        }
        finally
        {
            if (agent is not null) { log(agent.Output); agent.Dispose(); }
            Directory.Delete(flags, recursive: true);
            if (Directory.Exists(ctDir)) Directory.Delete(ctDir, recursive: true);
        }
    }

    private static Background Started(Background agent, Action<string> log)
    {
        if (!agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)))
        {
            log(agent.Output);
            Assert.Fail("agent did not start:\n" + agent.Output);
        }
        return agent;
    }

    /// <summary>Stops the agent (SIGTERM, exit 0) and finds policy drops among its exit counters.</summary>
    private static void AssertPolicyDropsAtExit(Background agent)
    {
        Assert.True(agent.Stop(Short), "agent did not stop on SIGTERM:\n" + agent.Output);
        Assert.Equal(0, agent.ExitCode);
        Assert.Matches(@"exit:   drop POLICY_DENIED \(133\): [1-9]", agent.Output);
    }

    private static void Go(string dir, int n) => File.WriteAllText(Path.Combine(dir, $"go-{n}"), "");

    /// <summary>The header as a build with layout version <paramref name="version"/> writes it (its checksum valid).</summary>
    public static void WriteLayoutVersion(string file, uint version)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[64];
        f.ReadExactly(header);
        BitConverter.TryWriteBytes(header.AsSpan(8), version);
        BitConverter.TryWriteBytes(header.AsSpan(56), XxHash64.HashToUInt64(header.AsSpan(0, 56)));
        f.Position = 0;
        f.Write(header);
    }
}
