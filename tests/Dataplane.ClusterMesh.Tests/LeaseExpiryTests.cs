using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Tests;

public class LeaseExpiryTests
{
    [SkippableFact]
    public async Task ANodeThatDiesDisappearsEverywhereWhenItsLeaseExpires()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        // A short TTL for the node that dies; a longer one for the survivor, so a stalled CI machine cannot expire it.
        await using var dying = new LocalNode(etcd.Connect(), "cluster2", 2, "node-x", "198.18.0.9", TimeSpan.FromSeconds(3), ownsConnection: true);
        await using var staying = new LocalNode(etcd.Connect(), "cluster2", 2, "node-y", "198.18.0.10", TimeSpan.FromSeconds(15), ownsConnection: true);
        await dying.StartAsync(Eventually.Timeout());
        await staying.StartAsync(Eventually.Timeout());
        foreach (var (n, ip, pod) in new[] { (dying, "198.18.0.9", "198.18.109.5"), (staying, "198.18.0.10", "198.18.110.5") })
        {
            n.PublishNode(new NodeRecord { Name = n.NodeName, IpAddresses = [new NodeAddress { Type = "InternalIP", Ip = ip }] });
            uint id = await n.Identities.AllocateAsync(new LabelSet([new Label("k8s", "app", n.NodeName)]), Eventually.Timeout());
            n.PublishEndpoint(IpIdentityPair.ForEndpoint(IPAddress.Parse(pod), IPAddress.Parse(ip), id, n.NodeName, 1, "shop", "p-" + n.NodeName));
            await n.FlushAsync(Eventually.Timeout());
        }

        // Another cluster's node watches cluster2.
        await using var view = new ClusterMeshView([new RemoteClusterConfig("cluster2", 2, [etcd.Endpoint])], EtcdProcess.Fast);
        await view.StartAsync(Eventually.Timeout());
        Assert.Equal(2, view.TunnelEndpoints().Count);
        Assert.Equal(2, view.Endpoints().Count);

        await dying.CrashAsync();   // no revoke: only the TTL removes its keys
        await Eventually.True(() => view.TunnelEndpoints().Count == 1 && view.Endpoints().Count == 1, "the dead node's entries expire", 30);
        Assert.Equal("node-y", view.TunnelEndpoints()[0].Node);
        Assert.Equal(IPNetwork.Parse("198.18.110.5/32"), view.Endpoints().Values.Single().Prefix);
        // Its identity value key went with the lease; the living node keeps its own entries (keep-alive works).
        using var c = etcd.Connect();
        var (values, _, _) = await c.ListAsync(Keys.CiliumKeys.IdentityValues, Eventually.Timeout());
        Assert.Equal(["198.18.0.10"], values.Select(v => v.Key.ToStringUtf8().Split('/')[^1]));

        // The dead node's number is no longer used by anyone: garbage collection returns it, and only it.
        var (masters, _, _) = await c.ListAsync(Keys.CiliumKeys.IdentityIds, Eventually.Timeout());
        Assert.Equal(2, masters.Count);
        Assert.Equal(1, await staying.Identities.CollectGarbageAsync(Eventually.Timeout()));
        (masters, _, _) = await c.ListAsync(Keys.CiliumKeys.IdentityIds, Eventually.Timeout());
        Assert.Equal(new LabelSet([new Label("k8s", "app", "node-y")]).Key, Assert.Single(masters).Value.ToStringUtf8());
        Assert.Equal(0, await staying.Identities.CollectGarbageAsync(Eventually.Timeout()));
    }
}
