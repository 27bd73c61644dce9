using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;
using Dataplane.Core.Tests.Support;

namespace Dataplane.Core.Tests.Policy;

/// <summary>Policy updates: compiled into a new snapshot and swapped; a rejected update changes nothing.</summary>
public class PolicySwapTests
{
    private const string Deny = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-lockdown, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress: [{}]
        """;

    private const string Allow = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-lockdown, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
        """;

    private const string Broken = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-lockdown, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress:
          - toPorts: [{ports: [{port: "80"}], rules: {kafka: [{topic: a}]}}]
        """;

    [Fact]
    public unsafe void InvalidUpdateKeepsThePreviousPolicyAndAValidOneSwapsIn()
    {
        using var start = new PolicyCluster(Deny);
        var holder = new SnapshotHolder(start.Snapshot);
        var pipeline = new PacketPipeline(holder);
        using var pool = new PacketPool(8);
        using var batch = new Batch();
        var ctx = new WorkerContext(0, new FlowRing(8));
        var client = start.Resolve("prod/client"); var web = start.Resolve("prod/web");
        var frame = PacketBuilder.Eth4(PacketBuilder.Ipv4(client.Ip4, web.Ip4, 6, PacketBuilder.Tcp(40000, 80)), client.DstMac, client.Mac);
        PacketMeta Send()
        {
            batch.Count = 0;
            Assert.True(pool.TryLoad(ref batch[0], frame, client.Port));
            batch.Count = 1;
            pipeline.Process(batch, ctx);
            var m = batch[0];
            pool.Free(batch[0]);
            return m;
        }
        Assert.Equal(Dataplane.Core.Drops.DropReason.PolicyDenied, Send().DropReason);

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([("base.yaml", PolicyCluster.Base), ("policy.yaml", Broken)]));
        Assert.Equal(("policy.yaml", 7), (e.Location.File, e.Location.Line));
        Assert.Same(start.Snapshot, holder.Current);
        Assert.Equal(PacketVerdict.Drop, Send().Verdict);

        var next = SnapshotCompiler.Compile(ConfigLoader.Load([("base.yaml", PolicyCluster.Base), ("policy.yaml", Allow)]), generation: 2);
        Assert.Same(start.Snapshot, holder.Swap(next));
        var m = Send();
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal("web-lockdown", next.Policy.Rules[m.IngressPolicyRule]!.Name);
        // Identities are numbered from the label sets alone, so they survive a policy update unchanged.
        Assert.Equal(start.Snapshot.Endpoints.First(x => x?.Name == "web")!.Identity, next.Endpoints.First(x => x?.Name == "web")!.Identity);
    }
}
