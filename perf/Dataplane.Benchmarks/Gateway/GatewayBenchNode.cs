using Dataplane.Benchmarks.Pipeline;
using Dataplane.ClusterMesh.Services;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;

namespace Dataplane.Benchmarks.Gateway;

/// <summary>What the gateway bench forwards: the same on-prem frames, three jobs.</summary>
public enum GatewayCase
{
    /// <summary>To a neighbour on the mesh side: parse, ipcache, LPM, TTL/checksum, MAC rewrite (no conntrack).</summary>
    PlainL3,
    /// <summary>To a pod on a node, through VXLAN: the same plus encapsulation (no conntrack, no service).</summary>
    PodOverVxlan,
    /// <summary>To the portal VIP: conntrack hit → DNAT to the Maglev-chosen backend and SNAT to the gateway →
    /// VXLAN to the backend's node; the client is an ExternalWorkload whose egress policy the gateway enforces.</summary>
    Portal,
}

/// <summary>
/// dataplane-gateway's pipeline compiled from YAML by the real loader and compiler (<see cref="PortalServices.OnGateway"/>
/// applied as the gateway applies it): on-prem port 0 (198.18.140.1), mesh port 1 (198.18.141.1), four nodes with 16
/// backend pods of the portal service web between them, clients in 198.19.0.0/16 behind the router. Traffic arrives
/// on the on-prem port as 64-byte TCP frames, one of <c>flows</c> flows per packet in a random order; for the portal
/// every flow is an established connection before timing.
/// </summary>
public sealed class GatewayBenchNode : IDisposable
{
    public const int Backends = 16, Nodes = 4;   // the YAML's static neighbours name the four nodes' addresses
    private const uint Vip = 0xC612A001;        // 198.18.160.1
    private const uint Neighbor = 0xC6128D32;   // 198.18.141.50
    private const uint Pod = 0x0A000164;        // 10.0.1.100

    public readonly PacketPool Pool;
    public readonly Batch Batch;
    public readonly WorkerContext Context;
    public readonly PacketPipeline Pipeline;
    private readonly ClientFrames _frames;

    public GatewayBenchNode(GatewayCase job, int flows, int batchSize = 256)
    {
        bool portal = job == GatewayCase.Portal;
        var model = PortalServices.OnGateway(ConfigLoader.Load([("gateway.yaml", Yaml(portal))]));
        Pipeline = new PacketPipeline(new SnapshotHolder(SnapshotCompiler.Compile(model)));
        // Each portal connection holds two entries (the DNAT and the SNAT that follows it).
        Context = new WorkerContext(0, conntrack: portal ? new ConntrackTable(2 * flows + flows / 2 + 64) : null);
        Batch = new Batch(batchSize);
        Pool = new PacketPool(batchSize);
        _frames = new ClientFrames(Batch, Pool, 0x0200000000a1 /* the on-prem port */,
            job switch { GatewayCase.Portal => Vip, GatewayCase.PodOverVxlan => Pod, _ => Neighbor }, (ushort)(portal ? 80 : 8080), flows);
        int warm = portal ? flows : batchSize;
        for (int f = 0; f < warm; f += batchSize)
        {
            for (int i = 0; i < batchSize; i++) _frames.Load(i, (f + i) % flows);
            Pipeline.Process(Batch, Context);
        }
        // Timing dropped packets would measure nothing: every warm-up packet must have left, every flow be a connection.
        var c = Context.Counters;
        if (c.TxPackets != c.RxPackets || (portal && Context.Conntrack!.Count != 2 * flows))
            throw new InvalidOperationException($"gateway bench {job}: rx {c.RxPackets}, tx {c.TxPackets}, local {c.LocalPackets}, drops {string.Join(",", c.Drops.Select((d, r) => (d, r)).Where(x => x.d > 0).Select(x => $"{x.r}:{x.d}"))}, conntrack {Context.Conntrack?.Count}");
    }

    /// <summary>One received burst (<see cref="ClientFrames.Receive"/>).</summary>
    public void Receive() => _frames.Receive();

    private static string Yaml(bool portal)
    {
        var s = new System.Text.StringBuilder("""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: gw-1}
            spec:
              routerMac: "02:00:00:00:00:99"
              interfaces:
              - {name: eth-onprem, mac: "02:00:00:00:00:a1", addresses: ["198.18.140.1/24"]}
              - {name: eth-mesh, mac: "02:00:00:00:00:a2", addresses: ["198.18.141.1/24"]}
              neighbors:
              - {ip: 198.18.140.2, mac: "02:00:00:00:00:fe"}
              - {ip: 198.18.141.50, mac: "02:00:00:00:00:50"}
              - {ip: 198.18.141.2, mac: "02:00:00:00:01:01"}
              - {ip: 198.18.141.3, mac: "02:00:00:00:01:02"}
              - {ip: 198.18.141.4, mac: "02:00:00:00:01:03"}
              - {ip: 198.18.141.5, mac: "02:00:00:00:01:04"}
              routes: [{destination: 198.19.0.0/16, via: 198.18.140.2}]
              overlay: {mode: vxlan}
            ---
            apiVersion: v1
            kind: Node
            metadata: {name: gw-1, labels: {dataplane.io/role: gateway}}
            status: {addresses: [{type: InternalIP, address: 198.18.141.1}]}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneGateway
            metadata: {name: gw-1}
            spec: {meshInterfaces: [eth-mesh], onPremInterfaces: [eth-onprem], onPremPrefixes: ["198.19.0.0/16"]}

            """);
        for (int n = 1; n <= Nodes; n++)
        {
            s.Append($"---\napiVersion: v1\nkind: Node\nmetadata: {{name: node-{n}}}\nspec: {{podCIDRs: [\"10.0.{n}.0/24\"]}}\nstatus: {{addresses: [{{type: InternalIP, address: 198.18.141.{n + 1}}}]}}\n");
        }
        for (int k = 0; k < Backends; k++)
        {
            int n = k % Nodes + 1;
            s.Append($"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web-{k}, namespace: prod, labels: {{app: web}}}}\nspec: {{nodeName: node-{n}}}\nstatus: {{podIPs: [{{ip: 10.0.{n}.{100 + k}}}]}}\n");
        }
        if (!portal) return s.ToString();
        s.Append("""
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: ExternalWorkload
            metadata: {name: clients, namespace: prod, labels: {app: billing}}
            spec: {addresses: ["198.19.0.0/16"], gateway: gw-1}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: billing-out, namespace: prod}
            spec:
              endpointSelector: {matchLabels: {app: billing}}
              egress: [{toEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: "8080", protocol: TCP}]}]}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: prod, annotations: {service.cilium.io/global: "true", io.cilium/portal: "true"}}
            spec: {type: LoadBalancer, clusterIP: 198.18.50.20, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
            status: {loadBalancer: {ingress: [{ip: 198.18.160.1}]}}

            """);
        return s.ToString();
    }

    public void Dispose()
    {
        Pool.Dispose();
        Batch.Dispose();
        Context.Conntrack?.Dispose();
    }
}
