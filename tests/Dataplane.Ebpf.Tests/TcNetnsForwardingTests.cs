using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Drops;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Real packets through the TC entry point: two pods in network namespaces, dp_tc attached with tcx links to the
/// ingress of their lxc veths in the dataplane namespace (bpf_redirect to the other pod's veth, ARP answered by
/// a redirect back out of the receiving veth), and no XDP program anywhere. Ping and TCP (200 kB) pass, a connection the policy does not allow is dropped and counted as 133; closing the links detaches
/// the program, after which the host stack (no routes between the pods) forwards nothing.
/// </summary>
public sealed class TcNetnsForwardingTests(ITestOutputHelper output)
{
    private const string ServerAllows8080 = NetnsForwardingTests.ServerAllows8080;

    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    /// <summary>How long a connection the policy drops is given: its SYNs vanish, so it can only time out.</summary>
    private static readonly TimeSpan Refused = TimeSpan.FromSeconds(4);

    [Fact]
    public void TcxIngressForwardsPingAndTcpAndDropsDenied()
    {
        if (!(Sh.IsRoot && Sh.Has("ip") && Sh.Has("python3") && Sh.Has("ping")))
            Assert.Fail("needs root, iproute2, iputils-ping and python3 (.ci/run installs them)");
        using var topo = new PodTopology(ServerAllows8080);
        string echo = Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");
        var links = new List<TcxLink>();
        EbpfDatapath? dp = null;
        try
        {
            File.WriteAllText(Path.Combine(topo.ConfigDir, "policy.yaml"), ServerAllows8080);
            var snapshot = SnapshotCompiler.Compile(ConfigLoader.LoadDirectory(topo.ConfigDir));
            dp = EbpfDatapath.Load(new EbpfOptions { ConntrackMaxEntries = 4096, TcProgram = true });
            var loaded = dp;
            // Interface indexes and tcx links belong to the namespace the call is made from.
            InNetns.Run(topo.DataplaneNs, () =>
            {
                MapFiller.Fill(loaded, snapshot, p => InNetns.IfIndex(p.Name));
                foreach (var port in snapshot.Ports)
                {
                    links.Add(loaded.AttachTcIngress(InNetns.IfIndex(port.Name)));
                    output.WriteLine($"{port.Name}: tcx ingress");
                }
            });
            var client = topo["client"];
            var server = topo["server"];

            var ping = topo.Exec(client.Ns, Short, "ping", "-c", "3", "-i", "0.2", "-W", "2", server.Ip);
            Assert.True(ping.Ok, "ping through the TC datapath failed: " + ping.Output);

            var allowed = topo.Start(server.Ns, "python3", echo, "tcp-server", "8080");
            var denied = topo.Start(server.Ns, "python3", echo, "tcp-server", "9090");
            Assert.True(allowed.WaitFor("listening", Short) && denied.WaitFor("listening", Short), allowed.Output + denied.Output);
            var ok = topo.Exec(client.Ns, Short, "python3", echo, "tcp-client", server.Ip, "8080", "200000");
            Assert.True(ok.Ok && ok.Output.Contains("echoed 200000"), $"allowed TCP failed: {ok.Output}");
            Assert.True(allowed.WaitFor("served 200000", Short), allowed.Output);
            var no = topo.Exec(client.Ns, Refused, "python3", echo, "tcp-client", server.Ip, "9090", "1000");
            Assert.False(no.Ok, "denied connection succeeded: " + no.Output);
            Assert.DoesNotContain("served", denied.Output);

            var counters = EbpfCounters.Read(dp);
            output.WriteLine($"rx {counters.RxPackets} tx {counters.TxPackets} local {counters.LocalPackets} drops " +
                string.Join(", ", counters.Drops.Select(d => $"{(int)d.Key}={d.Value.Packets}")));
            Assert.True(counters.DropsOf(DropReason.PolicyDenied) > 0, "no POLICY_DENIED (133) counted");
            Assert.True(counters.TxPackets > 100, $"only {counters.TxPackets} packets forwarded");
            Assert.True(ConntrackGc.Count(dp) > 0, "the TC program created no connection in the shared conntrack map");

            // The links are the attachment: closed, the program is gone and nothing forwards between the pods.
            foreach (var l in links) l.Dispose();
            links.Clear();
            var after = topo.Exec(client.Ns, Short, "ping", "-c", "1", "-W", "1", server.Ip);
            Assert.False(after.Ok, "ping still passed with the tcx links closed: " + after.Output);
        }
        finally
        {
            foreach (var l in links) l.Dispose();
            dp?.Dispose();
        }
    }
}
