using Dataplane.Control.Config;
using Dataplane.Node.Endpoints;
using Dataplane.Host.Api;
using Dataplane.Node.Api;

namespace Dataplane.Linux.Tests;

/// <summary>
/// How the agent folds CNI registrations into the YAML model (no root needed): a registration for a YAML Pod
/// takes its labels and supplies interface, MAC and addresses; others become pods of their own; taken or
/// foreign addresses are refused with the registration named; the store survives a restart and skips a
/// damaged file instead of failing.
/// </summary>
public sealed class AgentEndpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"dpt-agent-{Guid.NewGuid():N}");

    private static readonly ConfigModel Model = ConfigLoader.Load([("cluster.yaml", """
        apiVersion: v1
        kind: Node
        metadata: {name: dp}
        spec: {podCIDRs: ["198.18.100.0/24"]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: dp}
        spec: {}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: db, namespace: shop, labels: {app: db}}
        spec: {nodeName: dp}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: cache, namespace: shop, labels: {app: cache}}
        spec: {nodeName: dp}
        status: {podIPs: [{ip: 198.18.100.50}]}
        """)]);

    private static EndpointRegistration Reg(string id, string name, string ip, Dictionary<string, string>? labels = null) =>
        new(id, "eth0", "shop", name, labels ?? [], "/var/run/netns/x", "lxc" + id.PadLeft(12, '0')[..12], "02:00:00:00:00:0a", [ip]);

    [Fact]
    public void ARegistrationForAYamlPodTakesItsLabelsAndOthersBringTheirOwn()
    {
        var merged = EndpointMerger.Merge(Model, [Reg("c1", "db", "198.18.100.2", new() { ["app"] = "ignored" }), Reg("c2", "web", "198.18.100.3", new() { ["app"] = "web" })], _dir);
        var db = Assert.Single(merged.Pods, p => p.Name == "db");
        Assert.Equal("db", db.Labels["app"]);
        Assert.Equal(["198.18.100.2"], db.Ips.Select(i => i.ToString()));
        Assert.Equal("lxc0000000000c1", db.InterfaceName);
        var web = Assert.Single(merged.Pods, p => p.Name == "web");
        Assert.Equal(("web", "dp"), (web.Labels["app"], web.NodeName));
        Assert.Equal(3, merged.Pods.Length);
        var snapshot = Dataplane.Control.Compiler.SnapshotCompiler.Compile(merged);
        Assert.Contains(snapshot.Ports, p => p.Name == "lxc0000000000c1");
    }

    [Fact]
    public void TakenAndForeignAddressesAreRefusedNamingTheRegistration()
    {
        var taken = Assert.Throws<ConfigException>(() => EndpointMerger.Merge(Model, [Reg("c1", "web", "198.18.100.50")], _dir));
        Assert.Contains("shop/web", taken.Message);
        Assert.Contains("already used by pod shop/cache", taken.Message);
        var twice = Assert.Throws<ConfigException>(() => EndpointMerger.Merge(Model, [Reg("c1", "a", "198.18.100.7"), Reg("c2", "b", "198.18.100.7")], _dir));
        Assert.Contains("shop/a", twice.Message);
        var samePod = Assert.Throws<ConfigException>(() => EndpointMerger.Merge(Model, [Reg("c1", "db", "198.18.100.7"), Reg("c2", "db", "198.18.100.8")], _dir));
        Assert.Contains("shop/db is already attached as c1/eth0", samePod.Message);
                var foreign = Assert.Throws<ConfigException>(() => EndpointMerger.Merge(Model, [Reg("c1", "web", "198.18.7.1")], _dir));
        Assert.Contains("not inside the pod CIDRs", foreign.Message);
    }

    [Fact]
    public void TheStoreSurvivesARestartAndSkipsADamagedFile()
    {
        var log = new StringWriter();
        var store = new EndpointStore(_dir, log);
        store.Put(Reg("c1", "web", "198.18.100.2"));
        store.Put(Reg("c2", "db", "198.18.100.3"));
        Assert.True(store.Remove("c2", "eth0"));
        Assert.False(store.Remove("c2", "eth0"));
        File.WriteAllText(Path.Combine(_dir, "endpoints", "broken.json"), "{not json");

        var again = new EndpointStore(_dir, log);
        var only = Assert.Single(again.All);
        Assert.Equal(("c1", "web"), (only.ContainerId, only.Name));
        Assert.Contains("broken.json ignored", log.ToString());
        Assert.Equal("at least one IP is required", EndpointStore.Validate(Reg("c3", "x", "198.18.100.4") with { Ips = [] }));
        Assert.Equal("hostInterface must be 1-15 characters", EndpointStore.Validate(Reg("c3", "x", "198.18.100.4") with { HostInterface = "much-too-long-name" }));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
