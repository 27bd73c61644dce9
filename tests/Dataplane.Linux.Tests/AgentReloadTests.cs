using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The agent follows its config directory while traffic flows: a good change (a policy that now denies new
/// ICMP to the server) is swapped in without losing a packet of the ping already running (its connection is
/// tracked and stays allowed, as in Cilium), and new pings are dropped from then on; a file that does not
/// validate is reported with file:line:col (log and status) and changes nothing; removing the policy lets
/// new pings through again — all without restarting the agent.
/// </summary>
public sealed class AgentReloadTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    // Would allow ICMP if it were applied; the second document does not validate, so none of it is.
    private const string BrokenAllowAll = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server-allow-all, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress: [{fromEndpoints: [{}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: broken, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - toPorts: [{ports: [{port: "Not_A_Port", protocol: TCP}]}]
        """;

    [SkippableFact]
    public void PolicyFlipsWithoutRestartBadFileChangesNothingAndAGoodSwapLosesNoPacket()
    {
        Requires.RootAnd("ip", "ping");
        using var topo = new PodTopology("");
        var fwd = topo.StartForwarder("af_packet");
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        string policyFile = Path.Combine(topo.ConfigDir, "policy.yaml");
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            var client = topo["client"];
            var server = topo["server"];
            Assert.True(topo.Ping(client, server, 2).Ok, "no connectivity before any change:\n" + fwd.Output);
            long gen0 = AgentApi.Status(socket).Generation;

            // A good swap under traffic: the running ping's connection is established and keeps passing.
            var stream = topo.Start(client.Ns, "ping", "-c", "400", "-i", "0.01", "-W", "5", server.Ip);
            Thread.Sleep(500);
            WriteAtomically(policyFile, PodPolicies.ServerAllowsTcp8080);
            Assert.True(WaitGeneration(socket, gen0 + 1), "policy change not applied:\n" + fwd.Output);
            Assert.True(stream.WaitFor("packet loss", TimeSpan.FromSeconds(70)), stream.Output);
            output.WriteLine(string.Join("\n", stream.Output.Split('\n').TakeLast(4)));
            PingAssert.EveryRequestAnswered(stream.Output, sent: 400);

            // The flip took effect: a new ICMP connection is denied and counted.
            Assert.False(topo.Ping(client, server, 2).Ok, "new ping passed a policy that allows only TCP 8080:\n" + fwd.Output);
            var denied = AgentApi.Status(socket);
            Assert.True(denied.DropsByReason.TryGetValue("POLICY_DENIED (133)", out ulong drops) && drops >= 2,
                "no POLICY_DENIED drops: " + string.Join(", ", denied.DropsByReason));
            Assert.Null(denied.LastConfigError);

            // A bad file: reported with its location, nothing of it applied, the running config keeps forwarding.
            string broken = Path.Combine(topo.ConfigDir, "zz-broken.yaml");
            long gen1 = denied.Generation;
            WriteAtomically(broken, BrokenAllowAll);
            Assert.True(fwd.WaitFor("agent: config error", Short), fwd.Output);
            Assert.Matches(@"agent: config error, keeping generation \d+: .*zz-broken\.yaml:\d+:\d+: ", fwd.Output);
            var afterBad = AgentApi.Status(socket);
            Assert.Equal(gen1, afterBad.Generation);
            Assert.NotNull(afterBad.LastConfigError);
            Assert.Matches(@"zz-broken\.yaml:1[45]:\d+", afterBad.LastConfigError!.Message);
            Assert.False(topo.Ping(client, server, 2).Ok, "the bad file's allow-all was applied:\n" + fwd.Output);
            // `dataplane-node status` shows it too.
            var cli = Sh.Run(Short, "dotnet", Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll"), "status", "--socket", socket);
            Assert.True(cli.Ok, cli.Output);
            Assert.Matches(@"config:      last error at .*zz-broken\.yaml:\d+:\d+", cli.Output);
            Assert.Matches(@"drop POLICY_DENIED \(133\): [1-9]", cli.Output);
            Assert.Contains("backend:     af_packet", cli.Output);
            Assert.Matches(@"endpoints:   2\n.*default/client", cli.Output);

            // Fixing the directory (bad file gone, policy removed) applies the next generation: pings pass again.
            File.Delete(broken);
            WriteAtomically(policyFile, "");
            Assert.True(WaitGeneration(socket, gen1 + 1), "fix not applied:\n" + fwd.Output);
            var ok = topo.Ping(client, server, 3);
            Assert.True(ok.Ok, "ping denied after the policy was removed:\n" + ok.Output + fwd.Output);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
        }
        finally { output.WriteLine(fwd.Output); }
    }

    /// <summary>As editors and ConfigMap updates do: a complete file appears at once.</summary>
    private static void WriteAtomically(string path, string text)
    {
        string tmp = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".tmp");
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    private static bool WaitGeneration(string socket, long atLeast)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (AgentApi.Status(socket).Generation >= atLeast) return true;
            Thread.Sleep(100);
        }
        return false;
    }
}
