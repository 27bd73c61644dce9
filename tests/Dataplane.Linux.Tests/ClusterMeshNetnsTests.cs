using System.Text.RegularExpressions;
using Dataplane.ClusterMesh.Keys;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Cluster Mesh with real packets: two clusters (two etcd processes), one `dataplane-node run --clustermesh` node
/// each, pods in namespaces, VXLAN between the nodes (<see cref="MeshTopology"/>). The nodes know nothing of each
/// other's cluster but what etcd tells them, so every exchange below crossed the mesh.
/// </summary>
public sealed partial class ClusterMeshNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private static string Echo => Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");

    private static void RequireTools()
    {
        Requires.RootAnd("ip", "ping", "python3", "etcd");
    }

    /// <summary>
    /// Pods reach each other across clusters (VXLAN, identity in the VNI); the global service with affinity=local
    /// stays on the local backend while it is ready and moves to cluster c2's once it is not; db-a's policy admits
    /// cluster c2's pods (identities learned from etcd2) and drops its own cluster's.
    /// </summary>
    [SkippableFact]
    public async Task GlobalServiceAffinityAndAClusterPolicyWithRealTraffic()
    {
        RequireTools();
        await using var topo = await Meshed();
        try
        {
            Ping(topo, "client-a", topo["web-b"].Ip);
            Ping(topo, "client-b", topo["web-a"].Ip);

            Assert.Equal(("web-a", 3), ServiceHits(topo, "client-a", 3, "web-a", "web-b"));
            topo.WriteService("node-a", topo["web-a"].Ip, ready: false);
            // The reload takes a moment: the first connection to land remotely, then every one.
            Assert.True(Eventually(() => ServiceHits(topo, "client-a", 1, "web-a", "web-b").Backend == "web-b"), "service never moved to cluster c2");
            Assert.Equal(("web-b", 3), ServiceHits(topo, "client-a", 3, "web-a", "web-b"));

            var db = topo.Start(topo["db-a"].Ns, "python3", Echo, "tcp-server", "5001");
            Assert.True(db.WaitFor("listening", Short), db.Output);
            var allowed = topo.Exec(topo["client-b"].Ns, Short, "python3", Echo, "tcp-client", topo["db-a"].Ip, "5001", "20000");
            Assert.True(allowed.Ok && allowed.Output.Contains("echoed 20000"), $"c2 pod → db-a: {allowed.Output}");
            var denied = topo.Exec(topo["client-a"].Ns, Short, "ping", "-c", "2", "-i", "0.2", "-W", "1", topo["db-a"].Ip);
            Assert.False(denied.Ok, $"c1 pod → db-a was let through: {denied.Output}");
            topo.WaitStatus("node-a", s => s.DropsByReason.Keys.Any(k => k.StartsWith("POLICY_DENIED", StringComparison.Ordinal)),
                "a policy drop on node-a");

            // What an operator sees: `dataplane-node status` with the mesh section.
            var status = Sh.Run("dotnet", Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll"), "status", "--socket", topo.Socket("node-a"));
            Assert.True(status.Ok, status.Output);
            Assert.Contains("clustermesh: cluster c1 (id 1), etcd connected", status.Output);
            Assert.Contains("c2 (id 2): connected, 1 node(s), 3 endpoint(s)", status.Output);
        }
        finally { Report(topo); }
    }

    /// <summary>
    /// Both etcds stopped: forwarding goes on with the cached remote state (ping without loss, the service still
    /// reaches cluster c2's backend). Meanwhile cluster c2 changes — its service backend moves to web-b2 and
    /// client-b is removed — which node-a cannot see. Once etcd is back the resync applies exactly that.
    /// </summary>
    [SkippableFact]
    public async Task EtcdDownKeepsForwardingAndResyncAppliesWhatChangedMeanwhile()
    {
        RequireTools();
        await using var topo = await Meshed();
        try
        {
            topo.WriteService("node-a", topo["web-a"].Ip, ready: false);
            Assert.True(Eventually(() => ServiceHits(topo, "client-a", 1, "web-b", "web-b2").Backend == "web-b"), "service never moved to cluster c2");

            await topo.Etcd1.StopAsync();
            await topo.Etcd2.StopAsync();
            topo.WaitStatus("node-a", s => s.ClusterMesh is { Connected: false } m && !m.Remotes[0].Connected, "etcd seen down");
            var ping = topo.Exec(topo["client-a"].Ns, Short, "ping", "-c", "20", "-i", "0.1", "-W", "1", topo["web-b"].Ip);
            Assert.True(ping.Ok && ping.Output.Contains(" 0% packet loss"), $"ping during the outage: {ping.Output}");
            Assert.Equal(("web-b", 2), ServiceHits(topo, "client-a", 2, "web-b", "web-b2"));

            topo.WriteService("node-b", topo["web-b2"].Ip, ready: true);
            topo.WritePods("node-b", ["web-b", "web-b2"]);
            topo.WaitStatus("node-b", s => s.Endpoints.Count == 2, "node-b applying its change offline");
            topo.WaitStatus("node-b", s => s.ClusterMesh is { Pending: > 0 }, "node-b's publications queued");
            // node-a still forwards on what it knew.
            Assert.Equal(("web-b", 2), ServiceHits(topo, "client-a", 2, "web-b", "web-b2"));
            Assert.Equal(3, topo.Status("node-a")!.ClusterMesh!.Remotes[0].Endpoints);

            await topo.Etcd2.StartAgainAsync();
            await topo.Etcd1.StartAgainAsync();
            topo.WaitStatus("node-b", s => s.ClusterMesh is { Connected: true, Pending: 0 }, "node-b flushed");
            topo.WaitStatus("node-a", s => s.ClusterMesh is { } m && m.Remotes[0].Connected && m.Remotes[0].Endpoints == 2
                && m.RemoteEntries == 2, "node-a resynced: client-b's entry removed");
            Assert.True(Eventually(() => ServiceHits(topo, "client-a", 1, "web-b", "web-b2").Backend == "web-b2"), "service never moved to web-b2");
            Assert.Equal(("web-b2", 2), ServiceHits(topo, "client-a", 2, "web-b", "web-b2"));
            Ping(topo, "client-a", topo["web-b2"].Ip);
            // client-b's label set went unused during the outage: node-b's value key for it is deleted once etcd is back.
            using var etcd = topo.Etcd2.Connect();
            bool released = false;
            for (int i = 0; i < 40 && !released; i++, await Task.Delay(250))
                released = !(await etcd.ListAsync(CiliumKeys.IdentityValues, CancellationToken.None)).Kvs
                    .Any(kv => kv.Key.ToStringUtf8().Contains("k8s:app=client;", StringComparison.Ordinal));
            Assert.True(released, "node-b's identity value key for the removed client label set survived the resync");
        }
        finally { Report(topo); }
    }

    /// <summary>
    /// node-b dies without a goodbye (SIGKILL): once its lease expires its node, ipcache, identity-value and service
    /// keys are gone from etcd2, and node-a drops the tunnel endpoint and the entries from its state.
    /// </summary>
    [SkippableFact]
    public async Task LeaseExpiryOfADeadNodeRemovesItsEntriesEverywhere()
    {
        RequireTools();
        await using var topo = await Meshed(leaseTtl: 3);
        try
        {
            topo.AgentB!.Dispose();
            topo.WaitStatus("node-a", s => s.ClusterMesh is { RemoteNodes: 0, RemoteEntries: 0 } m && m.Remotes[0].Services == 0,
                "node-b's entries gone from node-a", seconds: 20);
            using var etcd = topo.Etcd2.Connect();
            foreach (var prefix in new[] { CiliumKeys.NodePrefix("c2"), CiliumKeys.IpCache, CiliumKeys.ServicePrefix("c2"), CiliumKeys.IdentityValues })
                Assert.Empty((await etcd.ListAsync(prefix, CancellationToken.None)).Kvs);
            var ping = topo.Exec(topo["client-a"].Ns, Short, "ping", "-c", "2", "-i", "0.2", "-W", "1", topo["web-b"].Ip);
            Assert.False(ping.Ok, ping.Output);
            // Cluster c1 itself is untouched.
            Assert.Equal(("web-a", 1), ServiceHits(topo, "client-a", 1, "web-a", "web-b"));
        }
        finally { Report(topo); }
    }

    /// <summary>
    /// Cluster c2's etcd is a 3-member cluster. Its leader is killed: with two members left node-b's change (client-b
    /// removed) still reaches node-a. A second member is killed: no quorum — node-a keeps forwarding to web-b on its
    /// cache (20 pings, no loss) and reports c2 disconnected, node-b's next change (web-b2 removed) queues. A member
    /// returns: node-a ends with exactly c2's entries, and client-b, re-added, gets an identity and is reached.
    /// </summary>
    [SkippableFact]
    public async Task ReplicatedEtcdLosingItsLeaderThenQuorumKeepsForwardingAndResumes()
    {
        RequireTools();
        await using var topo = await Meshed(replicatedEtcd2: true);
        try
        {
            Ping(topo, "client-a", topo["web-b"].Ip);
            var cluster = topo.Etcd2Cluster!;
            var leader = await cluster.LeaderAsync();
            output.WriteLine($"killing etcd2 leader {leader.Name}");
            await leader.StopAsync();
            topo.WritePods("node-b", ["web-b", "web-b2"]);
            topo.WaitStatus("node-a", s => s.ClusterMesh is { RemoteEntries: 2 } m && m.Remotes[0].Connected, "node-a seeing c2's change with two members", seconds: 60);

            var second = cluster.Members.First(m => m.Running);
            output.WriteLine($"killing {second.Name}: etcd2 has no quorum");
            await second.StopAsync();
            topo.WaitStatus("node-a", s => s.ClusterMesh is { } m && !m.Remotes[0].Connected, "node-a seeing c2 without quorum", seconds: 60);
            var ping = topo.Exec(topo["client-a"].Ns, Short, "ping", "-c", "20", "-i", "0.1", "-W", "1", topo["web-b"].Ip);
            Assert.True(ping.Ok && ping.Output.Contains(" 0% packet loss"), $"ping without quorum: {ping.Output}");
            // A withdrawal needs no new identity: it queues (a pod needing a new identity would wait for etcd).
            topo.WritePods("node-b", ["web-b"]);
            topo.WaitStatus("node-b", s => s.ClusterMesh is { Pending: > 0 }, "node-b's withdrawal queued");
            Assert.Equal(2, topo.Status("node-a")!.ClusterMesh!.RemoteEntries);

            output.WriteLine($"restarting {leader.Name}");
            await leader.StartAgainAsync();
            topo.WaitStatus("node-b", s => s.ClusterMesh is { Connected: true, Pending: 0 }, "node-b flushed", seconds: 60);
            topo.WaitStatus("node-a", s => s.ClusterMesh is { RemoteEntries: 1 } m && m.Remotes[0].Connected, "node-a caught up", seconds: 60);
            // With quorum back a new identity is allocated again and reaches the other cluster.
            topo.WritePods("node-b", ["client-b", "web-b"]);
            topo.WaitStatus("node-a", s => s.ClusterMesh is { RemoteEntries: 2 }, "client-b back on node-a", seconds: 60);
            Ping(topo, "client-a", topo["client-b"].Ip);
        }
        finally { Report(topo); }
    }

    /// <summary>Both agents forwarding, each with its pods' etcd identities and the other cluster's node and pods.</summary>
    private static async Task<MeshTopology> Meshed(int leaseTtl = 10, bool replicatedEtcd2 = false, string affinity = "local",
        bool overlapping = false, MeshUnderlay underlay = MeshUnderlay.Vxlan4)
    {
        var topo = await MeshTopology.StartAsync(affinity, leaseTtl, replicatedEtcd2, overlapping, underlay);
        try
        {
            foreach (var (agent, node) in new[] { (topo.AgentA!, "node-a"), (topo.AgentB!, "node-b") })
                Assert.True(agent.WaitFor("run: forwarding on", TimeSpan.FromSeconds(60)), $"{node} did not start:\n{agent.Output}");
            // Distinct label sets: client, web, db on node-a; client, web on node-b. Remote entries: the other's pods.
            topo.WaitStatus("node-a", s => s.ClusterMesh is { Connected: true, LocalIdentities: 3, RemoteNodes: 1, RemoteEntries: 3 }, "node-a meshed");
            topo.WaitStatus("node-b", s => s.ClusterMesh is { Connected: true, LocalIdentities: 2, RemoteNodes: 1, RemoteEntries: 3 }, "node-b meshed");
            return topo;
        }
        catch
        {
            await topo.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A policy on node-b admitting only cluster c2's pods to <c>app: web</c>: the service from c1's client (served by web-b)
    /// stops, with POLICY_DENIED counted on node-b — the receiving node, deciding on the identity it received — and none on node-a.
    /// </summary>
    private static void OnlyClusterC2AdmittedToWebOnNodeB(MeshTopology topo)
    {
        File.WriteAllText(Path.Combine(topo.ConfigDir("node-b"), "policy.yaml"), """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: web-from-c2, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress:
              - fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.cluster: c2}}]
            """);
        Assert.True(Eventually(() => ServiceHits(topo, "client-a", 1, "web-a", "web-b").Backend == "none"),
            "c1's client still reached web-b after node-b's policy admitted only c2");
        topo.WaitStatus("node-b", s => s.DropsByReason.Keys.Any(k => k.StartsWith("POLICY_DENIED", StringComparison.Ordinal)),
            "a policy drop on node-b");
        Assert.DoesNotContain(topo.Status("node-a")!.DropsByReason.Keys, k => k.StartsWith("POLICY_DENIED", StringComparison.Ordinal));
    }

    private static void Ping(MeshTopology topo, string from, string ip)
    {
        // The first echo may race the other side's reload: three bounded tries.
        Sh.Result r = default!;
        for (int i = 0; i < 3; i++)
        {
            r = topo.Exec(topo[from].Ns, Short, "ping", "-c", "3", "-i", "0.2", "-W", "2", ip);
            if (r.Ok && r.Output.Contains(" 0% packet loss")) return;
        }
        Assert.Fail($"ping {ip} from {from}: {r.Output}");
    }

    /// <summary>
    /// Opens <paramref name="count"/> TCP connections from <paramref name="client"/> to the service and returns the
    /// one backend that served them all ("mixed" if several did, "none" if a connection failed) and how many.
    /// </summary>
    private static (string Backend, int Count) ServiceHits(MeshTopology topo, string client, int count, params string[] backends)
    {
        var servers = backends.Select(b => (Name: b, Server: topo.Start(topo[b].Ns, "python3", Echo, "tcp-server", MeshTopology.BackendPort.ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToList();
        try
        {
            foreach (var (name, s) in servers) Assert.True(s.WaitFor("listening", Short), $"{name}: {s.Output}");
            for (int i = 0; i < count; i++)
            {
                var c = topo.Exec(topo[client].Ns, Short, "python3", Echo, "tcp-client", MeshTopology.ServiceIp,
                    MeshTopology.ServicePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "1000");
                if (!(c.Ok && c.Output.Contains("echoed 1000"))) return ("none", i);
            }
            var served = servers.Select(s => (s.Name, N: Served().Matches(s.Server.Output).Count)).Where(s => s.N > 0).ToList();
            return served.Count == 1 ? (served[0].Name, served[0].N) : ("mixed", served.Sum(s => s.N));
        }
        finally
        {
            foreach (var (_, s) in servers) s.Dispose();
        }
    }

    /// <summary>A condition that converges through a reload or a resync: up to 20 tries, 0.5 s apart.</summary>
    private static bool Eventually(Func<bool> condition)
    {
        for (int i = 0; i < 20; i++)
        {
            if (condition()) return true;
            Thread.Sleep(500);
        }
        return false;
    }

    private void Report(MeshTopology topo)
    {
        foreach (var node in new[] { "node-a", "node-b" })
            if (topo.Status(node) is { ClusterMesh: { } m } s)
                output.WriteLine($"{node}: generation {s.Generation}, mesh {System.Text.Json.JsonSerializer.Serialize(m)}, drops {string.Join(", ", s.DropsByReason)}");
        output.WriteLine("agent a:\n" + topo.AgentA?.Output);
        output.WriteLine("agent b:\n" + topo.AgentB?.Output);
    }

    [GeneratedRegex("^served ", RegexOptions.Multiline)]
    private static partial Regex Served();
}
