using Dataplane.Benchmarks.Pipeline;
using Dataplane.Control.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Control.Compiler;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;

namespace Dataplane.Benchmarks.Services;

/// <summary>
/// A node compiled from YAML by the real loader and compiler: 16 local backend pods of a ClusterIP service
/// (Maglev), a CiliumNetworkPolicy on them, an uplink. Traffic arrives on the uplink from world clients as
/// 64-byte TCP frames, one of <c>flows</c> flows per packet in a random order. The full node sends them to the
/// VIP (conntrack hit → DNAT to the connection's backend, ipcache, policy skipped for the established flow);
/// the plain node has no service, no policy and no conntrack and gets the same frames addressed to a backend
/// directly (ipcache + route): the peer measured in the same run.
/// </summary>
public sealed class ServiceBenchNode : IDisposable
{
    public const int Backends = 16;
    private const uint Vip = 0xC6123214; // 198.18.50.20

    public readonly PacketPool Pool;
    public readonly Batch Batch;
    public readonly WorkerContext Context;
    public readonly PacketPipeline Pipeline;
    private readonly ClientFrames _frames;

    public ServiceBenchNode(bool full, int flows, int batchSize = 256)
    {
        var model = ConfigLoader.Load([("node.yaml", Yaml(full))]);
        Pipeline = new PacketPipeline(new SnapshotHolder(SnapshotCompiler.Compile(model)));
        Context = new WorkerContext(0, conntrack: full ? new ConntrackTable(flows + flows / 4 + 64) : null);
        Batch = new Batch(batchSize);
        Pool = new PacketPool(batchSize);
        _frames = new ClientFrames(Batch, Pool, 0x0200000000a1, full ? Vip : 0x0A000164u /* 10.0.1.100 */, (ushort)(full ? 80 : 8080), flows);
        // Every flow once, in order: the connections exist (conntrack entries with their backends) before timing.
        int warm = full ? flows : batchSize;
        for (int f = 0; f < warm; f += batchSize)
        {
            for (int i = 0; i < batchSize; i++) _frames.Load(i, (f + i) % flows);
            Pipeline.Process(Batch, Context);
        }
        // A benchmark of dropped packets would measure nothing: every warm-up packet must have been forwarded,
        // and with a service every flow must now be a connection.
        var c = Context.Counters;
        if (c.TxPackets != c.RxPackets || (full && Context.Conntrack!.Count != flows))
            throw new InvalidOperationException($"bench node: rx {c.RxPackets}, tx {c.TxPackets}, local {c.LocalPackets}, drops {string.Join(",", c.Drops.Select((d, r) => (d, r)).Where(x => x.d > 0).Select(x => $"{x.r}:{x.d}"))}, connections {Context.Conntrack?.Count}");
    }

    /// <summary>One received burst (<see cref="ClientFrames.Receive"/>).</summary>
    public void Receive() => _frames.Receive();

    private static string Yaml(bool full)
    {
        var s = new System.Text.StringBuilder("""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: bench}
            spec:
              routerMac: "02:00:00:00:00:99"
              interfaces: [{name: eth0, mac: "02:00:00:00:00:a1", addresses: ["198.18.0.1/24"]}]
              neighbors: [{ip: 198.18.0.254, mac: "02:00:00:00:00:fe"}]
              routes: [{destination: 0.0.0.0/0, via: 198.18.0.254}]
            ---
            apiVersion: v1
            kind: Node
            metadata: {name: bench}
            spec: {podCIDRs: ["10.0.1.0/24"]}
            status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}

            """);
        var endpoints = new System.Text.StringBuilder();
        for (int i = 0; i < Backends; i++)
        {
            s.Append($"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i}, namespace: prod, labels: {{app: web}}}}\nspec: {{nodeName: bench}}\nstatus: {{podIPs: [{{ip: 10.0.1.{100 + i}}}]}}\n");
            endpoints.Append($"- {{addresses: [10.0.1.{100 + i}], nodeName: bench}}\n");
        }
        if (!full) return s.ToString();
        s.Append("""
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: web-in, namespace: prod}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress:
              - fromEntities: [world]
                toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: prod, annotations: {service.cilium.io/lb-algorithm: maglev}}
            spec: {clusterIP: 198.18.50.20, ports: [{name: http, port: 80, targetPort: 8080}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-a, namespace: prod, labels: {kubernetes.io/service-name: web}}
            addressType: IPv4
            ports: [{name: http, port: 8080}]
            endpoints:

            """);
        s.Append(endpoints);
        return s.ToString();
    }

    public void Dispose()
    {
        Pool.Dispose();
        Batch.Dispose();
        Context.Conntrack?.Dispose();
    }
}
