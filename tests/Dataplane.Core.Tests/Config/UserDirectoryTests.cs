using Dataplane.Core.Packets;
using Dataplane.Control.Config;

namespace Dataplane.Core.Tests.Config;

/// <summary>
/// Directories as users keep them: a whole application's manifests (Deployments, ConfigMaps next to the Services
/// and policies), <c>kubectl get -o yaml</c> Lists, JSON as <c>kubectl get -o json</c> writes it, and an
/// EndpointSlice that arrives before its Service.
/// </summary>
public sealed class UserDirectoryTests
{
    private const string Deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80, name: http}]}]}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-config, namespace: shop}
        data: {index.html: "<h1>hi</h1>"}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumLocalRedirectPolicy
        metadata: {name: lrp}
        spec: {}
        """;

    [Fact]
    public void KindsWeDoNotReadAreSkippedAndSaidWithTheirPlace()
    {
        var model = ConfigYaml.Load(Deployment + "\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
        Assert.Contains(model.Namespaces, n => n.Name == "shop");
        Assert.Equal(["Deployment web", "ConfigMap web-config", "CiliumLocalRedirectPolicy lrp"],
            model.Skipped.Select(s => $"{s.Kind} {s.Name}"));
        var first = model.Skipped[0];
        Assert.Equal(("50-test.yaml", 1), (first.At.File, first.At.Line));
        Assert.Equal("50-test.yaml:1:1: skipped Deployment web (apps/v1): not a kind the dataplane reads", first.ToString());
        Assert.Equal(11, model.Skipped[1].At.Line);
    }

    [Fact]
    public void KubectlListItemsAreDocuments()
    {
        const string list = """
            apiVersion: v1
            kind: List
            metadata: {resourceVersion: ""}
            items:
            - apiVersion: v1
              kind: Namespace
              metadata: {name: shop, labels: {team: a}}
            - apiVersion: v1
              kind: Pod
              metadata: {name: web, namespace: shop, labels: {app: web}}
              spec: {nodeName: node-b}
              status: {podIPs: [{ip: 198.19.2.7}]}
            - apiVersion: apps/v1
              kind: ReplicaSet
              metadata: {name: web-7d9, namespace: shop}
            """;
        var model = ConfigYaml.Load(list);
        Assert.Contains(model.Pods, p => p is { Namespace: "shop", Name: "web" });
        Assert.Contains(model.Namespaces, n => n.Name == "shop");
        Assert.Equal("ReplicaSet", Assert.Single(model.Skipped).Kind);
    }

    [Fact]
    public void ErrorsInsideAListPointAtTheItem()
    {
        const string list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: \"\"}\n";
        DocumentErrorTests.AssertFails(list, 6, "metadata.name: must not be empty");
        DocumentErrorTests.AssertFails("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n", 4,
            "a List inside a List is not a Kubernetes object");
    }

    [Fact]
    public void AnEndpointSliceBeforeItsServiceIsKeptAndUsedWhenTheServiceComes()
    {
        const string slice = """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: api-1, namespace: prod, labels: {kubernetes.io/service-name: api}}
            addressType: IPv4
            ports: [{port: 8080, protocol: TCP}]
            endpoints: [{addresses: [10.0.1.10], conditions: {ready: true}}]
            """;
        const string service = """
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: prod}
            spec: {clusterIP: 198.18.250.10, ports: [{port: 80, targetPort: 8080, protocol: TCP}]}
            """;
        using var c = new ServiceCluster(slice);
        Assert.Single(c.Model.EndpointSlices);
        var (before, _) = c.Send("prod/client", "198.18.250.10", 80, sport: 41000);
        Assert.NotEqual("prod/web-1", c.PodOnPort(before.OutPort));

        c.Swap(slice + "\n---\n" + service);
        var (syn, o) = c.Send("prod/client", "198.18.250.10", 80, sport: 41001);
        Assert.Equal(PacketVerdict.Tx, syn.Verdict);
        Assert.Equal(("10.0.1.10", 8080), (o!.Dst, (int)o.DstPort));
        Assert.Equal("prod/web-1", c.PodOnPort(syn.OutPort));
    }

    [Fact]
    public void JsonFilesLoadAsKubectlWritesThem()
    {
        using var dir = new TempDir("dp-json-");
        File.WriteAllText(Path.Combine(dir.Path, "00-nodes.yaml"), ConfigYaml.Nodes);
        File.WriteAllText(Path.Combine(dir.Path, "10-local.yaml"), ConfigYaml.Local);
        File.WriteAllText(Path.Combine(dir.Path, "pods.json"), """
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                        "spec": {"nodeName": "node-a", "containers": [{"name": "web", "image": "nginx"}]},
                        "status": {"podIPs": [{"ip": "198.19.1.9"}], "phase": "Running"}
                    }
                ]
            }
            """);
        File.WriteAllText(Path.Combine(dir.Path, "notes.txt"), "not a config file");
        var model = ConfigLoader.LoadDirectory(dir.Path);
        Assert.Contains(model.Pods, p => p.Name == "web" && p.Ips.Single().ToString() == "198.19.1.9");
        Assert.Empty(model.Skipped);
    }
}
