using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Drops;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Real packets: two pods in network namespaces, the eBPF datapath attached to their lxc veths in the dataplane
/// namespace (XDP_REDIRECT through the devmap, ARP answered with XDP_TX). Ping and TCP pass, a connection the
/// policy does not allow is dropped and counted as 133. Then the agent "restarts": the loader object is closed
/// (the program stays attached and keeps forwarding), a new one loads over the same pinned maps with a policy
/// that no longer admits the connection, and the established TCP connection keeps working — its conntrack entry
/// survived in the pinned map — while a new connection is refused.
/// </summary>
public sealed class NetnsForwardingTests(ITestOutputHelper output)
{
    /// <summary>Also the TC test's policy (<see cref="TcNetnsForwardingTests"/>): the same pods, the same verdicts.</summary>
    internal static readonly string ServerAllows8080 = PodPolicies.Join(PodPolicies.ServerAllowsTcp8080AndPing, PodPolicies.ClientAdmitsNothing);

    private const string ServerAdmitsNothing = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server-lockdown, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress: [{}]
        """;

    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public void ForwardsPingAndTcpEnforcesPolicyAndSurvivesAgentRestart()
    {
        Requires.RootAnd("ip", "python3", "ping");
        if (!Sh.Run("mountpoint", "-q", "/sys/fs/bpf").Ok) Sh.Must("mount", "-t", "bpf", "bpf", "/sys/fs/bpf");
        using var topo = new PodTopology(ServerAllows8080);
        string pins = $"/sys/fs/bpf/dpt-{topo.Suffix}";
        string flags = Directory.CreateTempSubdirectory("dpt-go-").FullName;
        string persist = Path.Combine(AppContext.BaseDirectory, "Support", "persist.py");
        var options = new EbpfOptions { PinDirectory = pins, ConntrackMaxEntries = 4096 };
        EbpfDatapath? dp = null;
        try
        {
            dp = Start(topo, options, ServerAllows8080);
            var client = topo["client"];
            var server = topo["server"];

            var ping = topo.Ping(client, server, 3);
            Assert.True(ping.Ok, "ping through the eBPF datapath failed: " + ping.Output);
            topo.AssertTcp8080PassesAnd9090IsDropped(200000, () => "");
            var counters = EbpfCounters.Read(dp);
            output.WriteLine($"rx {counters.RxPackets} tx {counters.TxPackets} local {counters.LocalPackets} drops " +
                string.Join(", ", counters.Drops.Select(d => $"{(int)d.Key}={d.Value.Packets}")));
            Assert.True(counters.DropsOf(DropReason.PolicyDenied) > 0, "no POLICY_DENIED (133) counted");
            Assert.True(counters.TxPackets > 100, $"only {counters.TxPackets} packets forwarded");

            // A long-lived connection, then the agent goes away: the attached program keeps forwarding.
            // The echo server freed port 8080 (the traffic check stops it); the client starts only once the new server listens
            // (started together, the client could connect first and be refused).
            var psrv = topo.Start(server.Ns, "python3", persist, "server", "8080");
            Assert.True(psrv.WaitFor("listening", Short), psrv.Output);
            var pcli = topo.Start(client.Ns, "python3", persist, "client", server.Ip, "8080", flags);
            Assert.True(pcli.WaitFor("connected", Short), "persistent client: " + pcli.Output);
            Go(flags, 1);
            Assert.True(pcli.WaitFor("got msg-1", Short), pcli.Output);
            dp.Dispose();
            dp = null;
            Go(flags, 2);
            Assert.True(pcli.WaitFor("got msg-2", Short), "forwarding stopped with the agent: " + pcli.Output);

            // The agent comes back with a policy that admits nothing to the server: the established connection
            // lives on in the pinned conntrack map, a new one is refused.
            dp = Start(topo, options, ServerAdmitsNothing);
            Assert.True(ConntrackGc.Count(dp) > 0, "pinned conntrack map was not reused");
            Go(flags, 3);
            Assert.True(pcli.WaitFor("got msg-3", Short), "established connection broke across the restart: " + pcli.Output);
            topo.AssertTcpDropped(client, server, 8080);
            Assert.True(EbpfCounters.Read(dp).DropsOf(DropReason.PolicyDenied) > counters.DropsOf(DropReason.PolicyDenied));
        }
        finally
        {
            dp?.Dispose();
            topo.Dispose();
            Sh.Run("rm", "-rf", pins);
            Directory.Delete(flags, recursive: true);
        }
    }

    private static void Go(string dir, int n) => File.WriteAllText(Path.Combine(dir, $"go-{n}"), "");

    /// <summary>What the agent does at start: load (reusing pinned maps), fill from the config, attach.</summary>
    private EbpfDatapath Start(PodTopology topo, EbpfOptions options, string policies)
    {
        File.WriteAllText(Path.Combine(topo.ConfigDir, "policy.yaml"), policies);
        var snapshot = SnapshotCompiler.Compile(ConfigLoader.LoadDirectory(topo.ConfigDir));
        var dp = EbpfDatapath.Load(options);
        try
        {
            InNetns.Run(topo.DataplaneNs, () =>
            {
                MapFiller.Fill(dp, snapshot, p => InNetns.IfIndex(p.Name));
                foreach (var port in snapshot.Ports)
                    output.WriteLine($"{port.Name}: {dp.Attach(InNetns.IfIndex(port.Name))}");
            });
            foreach (var pod in topo.Pods)
                InNetns.Run(pod.Ns, () => dp.AttachPass(InNetns.IfIndex("eth0")));
            return dp;
        }
        catch
        {
            dp.Dispose();
            throw;
        }
    }
}
