using System.Net;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Control.Compiler;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>
/// The scale simulation (perf's <c>mesh-scale</c>) small enough for CI, asserting on behaviour only: three synthetic
/// clusters (own etcds, Cilium's keys) of 10 nodes × 20 pods seen by one agent's view — every endpoint with its
/// identity, node and cluster; a fourth cluster added later; a new pod reaching the compiled ipcache; a churn of every
/// pod's identity all delivered.
/// </summary>
public class MeshScaleSmokeTests
{
    [SkippableFact]
    public async Task EverySyntheticEndpointArrivesWithItsIdentityAndChurnIsDeliveredExactly()
    {
        var sims = Enumerable.Range(0, 4).Select(k => new SyntheticCluster(k, Nodes: 10, Pods: 20, LabelSets: 4)).ToList();
        var etcds = new List<EtcdProcess>();
        try
        {
            foreach (var _ in sims) etcds.Add(await EtcdProcess.StartAsync());
            await Task.WhenAll(sims.Select((s, k) => s.FillAsync(etcds[k])));

            await using var view = new ClusterMeshView(sims.Take(3).Select((s, k) => s.Config(etcds[k])));
            await view.StartAsync(Eventually.Timeout());
            Assert.Null(SyntheticCluster.Mismatch(view, sims[..3]));
            var input = view.PolicyInput();
            Assert.Equal(600, input.IpCache.Count);
            Assert.Equal(12, input.Identities.Count);

            await using (var more = new ClusterMeshView([sims[3].Config(etcds[3])]))
            {
                await more.StartAsync(Eventually.Timeout());
                Assert.Null(SyntheticCluster.Mismatch(more, [sims[3]]));
            }

            // A pod appears in cluster c3: it reaches the compiled ipcache with its identity.
            var ip = IPAddress.Parse("fd00:0:1:ffff::1");
            var pair = IpIdentityPair.ForEndpoint(ip, sims[1].NodeIp(0), IdentityRange.Min(sims[1].Id) + 2, "node-0", 99, "shop", "new");
            using (var c = etcds[1].Connect())
                await c.PutAsync(CiliumKeys.Ip(pair.KeyName), pair.ToJson(), 0, CancellationToken.None);
            var model = Dataplane.Control.Config.ConfigLoader.Load([("n.yaml", LocalNodeYaml)]);
            await Eventually.True(() => PolicyCompiler.Compile(model, [null], view.PolicyInput()).IpCache.Lookup(ip) == IdentityRange.Min(sims[1].Id) + 2,
                "the new pod in the compiled ipcache");
            using (var c = etcds[1].Connect()) await c.DeleteAsync(CiliumKeys.Ip(pair.KeyName), CancellationToken.None);

            // Every pod of every cluster gets the next identity: the view ends with exactly those.
            await Task.WhenAll(sims.Take(3).Select((s, k) => s.ChurnAsync(etcds[k], s.Endpoints, generation: 1)));
            await Eventually.True(() => SyntheticCluster.Mismatch(view, sims[..3], churned: 200) is null, "every pod's new identity");
            // The probe pod was withdrawn: exactly the publishers' state (Mismatch counts endpoints).
            Assert.Null(SyntheticCluster.Mismatch(view, sims[..3], churned: 200));
        }
        finally
        {
            await Task.WhenAll(etcds.Select(e => e.DisposeAsync().AsTask()));
        }
    }

    private const string LocalNodeYaml = """
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.110.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:00:01", addresses: ["198.18.0.1/24"]}]
        """;
}
