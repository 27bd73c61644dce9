using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;
using Dataplane.Core.Tests.Support;

namespace Dataplane.Core.Tests.Policy;

/// <summary>The identity and policy stages allocate nothing per packet.</summary>
public class PolicyHotPathTests
{
    [Fact]
    public void PipelineWithPolicyDoesNotAllocate()
    {
        const string policy = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: prod}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
              ingressDeny: [{fromCIDR: [203.0.113.0/24]}]
              egress: [{toEntities: [world]}]
            """;
        using var c = new PolicyCluster(policy);
        var client = c.Resolve("prod/client"); var web = c.Resolve("prod/web"); var world = c.Resolve("203.0.113.9");
        var frames = new (byte[] Frame, ushort Port)[]
        {
            (PacketBuilder.Eth4(PacketBuilder.Ipv4(client.Ip4, web.Ip4, 6, PacketBuilder.Tcp(40000, 80)), client.DstMac, client.Mac), client.Port),
            (PacketBuilder.Eth4(PacketBuilder.Ipv4(client.Ip4, web.Ip4, 6, PacketBuilder.Tcp(40000, 81)), client.DstMac, client.Mac), client.Port),
            (PacketBuilder.Eth4(PacketBuilder.Ipv4("203.0.113.9", web.Ip4, 6, PacketBuilder.Tcp(40000, 80)), world.DstMac, world.Mac), world.Port),
            (PacketBuilder.Eth4(PacketBuilder.Ipv4(web.Ip4, "8.8.8.8", 17, PacketBuilder.Udp(40000, 53)), web.DstMac, web.Mac), web.Port),
            (PacketBuilder.Eth6(PacketBuilder.Ipv6(web.Ip6!, "2001:db8:ffff::1", 6, PacketBuilder.Tcp(40000, 443)), web.DstMac, web.Mac), web.Port),
        };
        using var pool = new PacketPool(64);
        using var batch = new Batch();
        var ctx = new WorkerContext(0, new FlowRing(1024));
        var pipeline = new PacketPipeline(new SnapshotHolder(c.Snapshot));
        void Round()
        {
            batch.Count = 0;
            foreach (var (f, port) in frames) { pool.TryLoad(ref batch[batch.Count], f, port); batch.Count++; }
            pipeline.Process(batch, ctx);
            for (int i = 0; i < batch.Count; i++) pool.Free(batch[i]);
            while (ctx.Flows!.TryRead(out _)) { }
        }
        for (int i = 0; i < 100; i++) Round();
        Allocations.AssertSteadyStateAllocatesNothing(Round, 1000);

        // And the verdicts were the interesting ones: allow, 133, 181, allow, allow.
        batch.Count = 0;
        foreach (var (f, port) in frames) { pool.TryLoad(ref batch[batch.Count], f, port); batch.Count++; }
        pipeline.Process(batch, ctx);
        Assert.Equal([Expect.Allow, Expect.NoAllow, Expect.Deny, Expect.Allow, Expect.Allow],
            Enumerable.Range(0, batch.Count).Select(i => PolicyCluster.Outcome(batch[i])).ToArray());
        for (int i = 0; i < batch.Count; i++) pool.Free(batch[i]);
    }
}
