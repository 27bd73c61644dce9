using System.Text;
using Dataplane.Control.Config;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Issue 18's "done when": an ordinary application's directory — a ConfigMap, a Deployment, a Service with a
/// selector and no IPs, a NetworkPolicy with a named port, written as upstream documents are — loads unchanged next
/// to the cluster's objects (Node, the running Pods as <c>kubectl get pods -o yaml</c> shows them, a ServiceCIDR),
/// and its Service answers real TCP through <c>dataplane-node run</c> (AF_PACKET): the allocated ClusterIP reaches
/// both pods on the named target port, and a pod the NetworkPolicy does not admit gets nothing through it.
/// Addresses only from 198.18.100.0/24 (pods) and 198.18.102.0/24 (services).
/// </summary>
public sealed class AppDirectoryNetnsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);
    private readonly NetnsSet _set = new();

    private sealed record Pod(string Name, string Ip, string Mac, string Labels, bool Serves);

    private static readonly Pod[] Pods =
    [
        new("client", "198.18.100.10", "02:00:00:00:c3:01", "{app: client}", false),
        new("stranger", "198.18.100.11", "02:00:00:00:c3:02", "{app: other}", false),
        new("web-5d8f7c9b4-x2x7k", "198.18.100.21", "02:00:00:00:c3:21", "{app: web, pod-template-hash: 5d8f7c9b4}", true),
        new("web-5d8f7c9b4-q9mzs", "198.18.100.22", "02:00:00:00:c3:22", "{app: web, pod-template-hash: 5d8f7c9b4}", true),
    ];

    /// <summary>The application, as its authors ship it: nothing in here knows about the dataplane.</summary>
    private const string App = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: web-config
          namespace: shop
        data:
          GREETING: hello
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop
          labels:
            app: web
        spec:
          replicas: 2
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
              - name: web
                image: python:3.12-slim
                command: ["python3", "echo.py", "tcp-server", "8080"]
                ports:
                - name: http
                  containerPort: 8080
                envFrom:
                - configMapRef:
                    name: web-config
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: shop
        spec:
          selector:
            app: web
          ports:
          - name: http
            port: 80
            targetPort: http
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web-from-client
          namespace: shop
        spec:
          podSelector:
            matchLabels:
              app: web
          policyTypes:
          - Ingress
          ingress:
          - from:
            - podSelector:
                matchLabels:
                  app: client
            ports:
            - protocol: TCP
              port: http

        """;

    [SkippableFact]
    public void AnAppsManifestsLoadUnchangedAndItsServiceAnswersTcpOnlyToAdmittedPods()
    {
        Requires.RootAnd("ip", "python3");
        string dir = Build();
        var report = ConfigLoader.Check(dir);
        Assert.True(report.Errors.Count == 0, string.Join("\n", report.Errors.Select(e => e.Message)));
        Assert.Contains(report.Skipped, s => s.Kind == "Deployment");
        Assert.Contains(report.Skipped, s => s.Kind == "ConfigMap");
        var model = report.Model!;
        string vip = model.Services.Single(s => s.Name == "web").ClusterIps.Single().ToString();
        Assert.StartsWith("198.18.102.", vip);

        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var fwd = _set.Start(Dp, ["dotnet", dll, "run", "--config", dir, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(dir)]);
        Assert.True(fwd.WaitFor($"run: forwarding on {Pods.Length} port(s)", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);

        var servers = Pods.Where(p => p.Serves).Select(p => _set.Start(NsOf(p), "python3", "-u", PodTopology.Echo, "tcp-server", "8080")).ToList();
        foreach (var s in servers) Assert.True(s.WaitFor("listening", Short), s.Output);

        // Sixteen connections to the ClusterIP's port 80, each echoed by whichever pod the service chose.
        for (int i = 0; i < 16; i++)
        {
            var r = _set.Exec(NsOf(Pods[0]), Short, "python3", PodTopology.Echo, "tcp-client", vip, "80", "100");
            Assert.True(r.Ok && r.Output.Contains("echoed 100"), $"connection {i} to {vip}:80 failed: {r.Output}\n{fwd.Output}");
        }
        foreach (var s in servers) Assert.True(s.WaitFor("served 100", Short), "a backend never served: " + s.Output);

        // The NetworkPolicy admits app=client only: the stranger's SYNs are dropped, its connect times out.
        var no = _set.Exec(NsOf(Pods[1]), TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", vip, "80", "100");
        Assert.True(!no.Ok && !no.TimedOut && no.Output.Contains("timed out", StringComparison.Ordinal),
            $"the stranger's connection was not dropped: {no.Output}");
        Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), "forwarder did not stop:\n" + fwd.Output);
        output.WriteLine(fwd.Output);
    }

    private string Dp => $"dpt-ad-{_set.Suffix}";

    private string NsOf(Pod p) => $"dpt-a{Pods.ToList().IndexOf(p)}-{_set.Suffix}";

    /// <summary>The pods' namespaces and veths, and the config directory: cluster.yaml (what the cluster has) and app.yaml.</summary>
    private string Build()
    {
        _set.AddNamed(Dp);
        NetnsSet.KernelStaysOff(Dp);
        var cluster = new StringBuilder(PodTopology.NodeYaml).Append("""
            ---
            apiVersion: networking.k8s.io/v1
            kind: ServiceCIDR
            metadata: {name: kubernetes}
            spec: {cidrs: [198.18.102.0/24]}

            """);
        foreach (var pod in Pods)
        {
            string ns = _set.AddNamed(NsOf(pod)), lxc = PodTopology.LxcName("shop", pod.Name);
            _set.Veth(lxc, Dp, "eth0", ns);
            Sh.Must("ip", "-n", ns, "link", "set", "eth0", "address", pod.Mac);
            Sh.Must("ip", "-n", ns, "addr", "add", $"{pod.Ip}/24", "dev", "eth0");
            NetnsSet.Up(ns, "eth0");
            NetnsSet.Up(Dp, lxc);
            Sh.Must("ip", "-n", ns, "route", "add", "default", "via", "198.18.100.1", "dev", "eth0");
            string ports = pod.Serves ? ", ports: [{name: http, containerPort: 8080, protocol: TCP}]" : "";
            cluster.Append($$$"""
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: {{{pod.Name}}}, namespace: shop, labels: {{{pod.Labels}}}, annotations: {dataplane.io/mac: "{{{pod.Mac}}}"}}
                spec: {nodeName: dp, containers: [{name: main, image: python:3.12-slim{{{ports}}}}]}
                status: {phase: Running, conditions: [{type: Ready, status: "True"}], podIPs: [{ip: {{{pod.Ip}}}}]}

                """);
        }
        string dir = _set.Dir("app");
        File.WriteAllText(Path.Combine(dir, "cluster.yaml"), cluster.ToString());
        File.WriteAllText(Path.Combine(dir, "app.yaml"), App);
        return dir;
    }

    public void Dispose() => _set.Dispose();
}
