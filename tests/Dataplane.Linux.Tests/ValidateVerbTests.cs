using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// `dataplane-node validate DIR` as a user runs it in CI over their manifests: an ordinary application's directory
/// (a Deployment and a ConfigMap beside the Service and the NetworkPolicy) is read, what is not ours is listed as
/// skipped, and every error of every file is printed with file:line:column and exit code 1 — not only the first.
/// </summary>
public sealed class ValidateVerbTests(ITestOutputHelper output)
{
    private static readonly string Cluster = ClusterYaml.Docs(
        ClusterYaml.DataplaneNode("node-a", "02:00:00:00:0a:01", ["198.18.0.1/24"], [], []),
        ClusterYaml.Node("node-a", ["198.19.1.0/24"], ["198.18.0.1"]));

    private const string App = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: default}
        spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-config, namespace: default}
        data: {a: b}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec: {clusterIP: 198.18.250.10, ports: [{port: 80, protocol: TCP}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: default}
        spec:
          podSelector: {matchLabels: {app: web}}
          ingress: [{ports: [{port: 80, protocol: TCP}]}]
        """;

    private const string Broken = """
        apiVersion: v1
        kind: Pod
        metadata: {name: ""}
        ---
        apiVersion: cilium.io/v1
        kind: CiliumNetworkPolicy
        metadata: {name: x}
        """;

    [Fact]
    public void ReadsAnApplicationsDirectoryListsWhatItSkipsAndReportsEveryError()
    {
        using var dir = new TempDir("dp-validate-");
        File.WriteAllText(dir["00-cluster.yaml"], Cluster);
        File.WriteAllText(dir["10-app.yaml"], App);

        var ok = Validate(dir.Path);
        Assert.True(ok.Ok, ok.Output);
        Assert.Contains($"{dir["10-app.yaml"]}: Service default/web, NetworkPolicy default/web", ok.Output);
        Assert.Contains($"{dir["10-app.yaml"]}:1:1: skipped Deployment web (apps/v1): not a kind the dataplane reads", ok.Output);
        Assert.Contains($"{dir["10-app.yaml"]}:6:1: skipped ConfigMap web-config (v1)", ok.Output);
        Assert.Contains("validate: 2 file(s), 4 document(s) read, 2 skipped, 0 error(s)", ok.Output);

        File.WriteAllText(dir["20-broken.yaml"], Broken);
        var bad = Validate(dir.Path);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"{dir["20-broken.yaml"]}:3:", bad.Output);
        Assert.Contains("metadata.name: must not be empty", bad.Output);
        Assert.Contains($"{dir["20-broken.yaml"]}:5:", bad.Output);
        Assert.Contains("CiliumNetworkPolicy requires apiVersion cilium.io/v2", bad.Output);
        Assert.Contains("2 error(s); nothing would be applied", bad.Output);
    }

    [Fact]
    public void AMissingDirectoryIsOneClearError()
    {
        var r = Validate("/nonexistent/dp-validate-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("configuration directory does not exist", r.Output);
    }

    private Sh.Result Validate(string dir)
    {
        var r = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", [Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll"), "validate", dir]);
        output.WriteLine(r.Output);
        return r;
    }
}
