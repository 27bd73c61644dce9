using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;

namespace Dataplane.Testing.Fixtures;

/// <summary>
/// node-a as the overlay tests see it, compiled from YAML the way a user writes it: eth0 (port 0) on the underlay
/// 198.18.0.0/24 + 2001:db8:0:1::/64 with node-b (.2/::2, VXLAN by its annotation) and node-c (.3/::3, SRv6 with
/// annotated End.DT4/DT6 SIDs 2001:db8:c::4/::6) as neighbours; the local pod web (198.18.100.10, fd00:100::10,
/// port 1); node-b's pod db (198.18.101.20). Local SIDs in locator 2001:db8:a::/48. Extra YAML is appended.
/// </summary>
public sealed class OverlayNode : IDisposable
{
    public const ulong Eth0Mac = 0x02_00_00_00_0e_01, NodeBMac = 0x02_00_00_00_0e_02, NodeCMac = 0x02_00_00_00_0e_03;
    public const ulong RouterMac = 0x02_00_00_00_00_99, WebMac = 0x02_00_00_00_0a_0a;
    public const ushort Uplink = 0, WebPort = 1;

    public static string Yaml(string overlay = "", string nodeBAnnotations = "dataplane.io/tunnel: vxlan", string extra = "", int mtu = 1500) => $$$"""
        {{{ClusterYaml.Node("node-a", ["198.18.100.0/24", "fd00:100::/64"], ["198.18.0.1", "2001:db8:0:1::1"])}}}
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: node-b
          annotations:
            {{{nodeBAnnotations}}}
        spec: {podCIDRs: ["198.18.101.0/24", "fd00:101::/64"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.2}, {type: InternalIP, address: "2001:db8:0:1::2"}]}
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: node-c
          annotations:
            dataplane.io/tunnel: srv6
            dataplane.io/srv6-sid4: "2001:db8:c::4"
            dataplane.io/srv6-sid6: "2001:db8:c::6"
        spec: {podCIDRs: ["198.18.102.0/24", "fd00:102::/64"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.3}]}
        ---
        {{{ClusterYaml.Pod("default", "web", "app: web", "node-a", ["198.18.100.10", "fd00:100::10"],
            metadataExtra: ", annotations: {dataplane.io/mac: \"02:00:00:00:0a:0a\"}")}}}
        ---
        {{{ClusterYaml.Pod("default", "db", "app: db", "node-b", ["198.18.101.20"])}}}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          routerMac: "02:00:00:00:00:99"
          interfaces:
          - {name: eth0, mac: "02:00:00:00:0e:01", addresses: ["198.18.0.1/24", "2001:db8:0:1::1/64"], mtu: {{{mtu}}}}
          neighbors:
          - {ip: 198.18.0.2, mac: "02:00:00:00:0e:02"}
          - {ip: "2001:db8:0:1::2", mac: "02:00:00:00:0e:02"}
          - {ip: 198.18.0.3, mac: "02:00:00:00:0e:03"}
          - {ip: "2001:db8:0:1::3", mac: "02:00:00:00:0e:03"}
          routes:
          - {destination: "2001:db8:b::/48", via: "2001:db8:0:1::2"}
          - {destination: "2001:db8:c::/48", via: "2001:db8:0:1::3"}
          overlay:
            locators: ["2001:db8:a::/48"]
            sids:
            - {sid: "2001:db8:a::1", behavior: End}
            - {sid: "2001:db8:a::2", behavior: End.X, nexthop: "2001:db8:0:1::2"}
            - {sid: "2001:db8:a::4", behavior: End.DT4}
            - {sid: "2001:db8:a::6", behavior: End.DT6}
            - {sid: "2001:db8:a::46", behavior: End.DT46}
        {{{overlay}}}
        {{{extra}}}
        """;

    public readonly PacketPool Pool = new(256);
    public readonly Batch Batch = new();
    public readonly WorkerContext Context = new(0);
    public readonly DatapathSnapshot Snapshot;
    public readonly PacketPipeline Pipeline;

    public OverlayNode(string? yaml = null)
    {
        var model = ConfigLoader.Load([("node.yaml", yaml ?? Yaml())]);
        Snapshot = SnapshotCompiler.Compile(model);
        Pipeline = new PacketPipeline(new SnapshotHolder(Snapshot));
    }

    /// <summary>Security identity of a pod by name.</summary>
    public uint IdentityOf(string app) =>
        Snapshot.Policy.Identities.All.First(i => i.Labels.Key.Contains($"app={app};", StringComparison.Ordinal)).Id;

    public (PacketMeta Meta, byte[] Out) Run(byte[] frame, ushort inPort)
    {
        Batch.Count = 0;
        Assert.True(Pool.TryLoad(ref Batch[0], frame, inPort));
        Batch.Count = 1;
        Pipeline.Process(Batch, Context);
        var r = (Batch[0], Batch[0].Bytes.ToArray());
        Pool.Free(Batch[0]);
        return r;
    }

    public void Dispose() { Pool.Dispose(); Batch.Dispose(); }
}
