using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Drops;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;
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
    private static readonly string ServerAllows8080 = NetnsForwardingTests.ServerAllows8080;

    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public void TcxIngressForwardsPingAndTcpAndDropsDenied()
    {
        Requires.RootAnd("ip", "python3", "ping");
        using var topo = new PodTopology(ServerAllows8080);
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

            var ping = topo.Ping(client, server, 3);
            Assert.True(ping.Ok, "ping through the TC datapath failed: " + ping.Output);
            topo.AssertTcp8080PassesAnd9090IsDropped(200000, () => "");

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
