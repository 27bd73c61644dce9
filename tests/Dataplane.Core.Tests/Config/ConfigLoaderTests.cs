using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dataplane.Control.Config;

namespace Dataplane.Core.Tests.Config;

public sealed class ConfigLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Pods = """
        # an empty first document and a comment-only one are skipped
        ---
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: prod
          labels:
            env: prod
            team: "42"
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels:
            app: web
            tier: frontend
          annotations:
            example.com/owner: alice
        spec:
          nodeName: node-a
          serviceAccountName: web-sa
          containers: [{name: web, image: nginx}]
        status:
          podIP: 198.19.1.10
          podIPs:
          - ip: 198.19.1.10
          - ip: fd00:1::10
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: db
          namespace: prod
          annotations:
            dataplane.io/mac: "02:00:00:00:01:01"
        spec:
          nodeName: node-a
        status:
          podIP: 198.19.1.11
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: api
        spec:
          nodeName: node-b
        status:
          podIPs: [{ip: 198.19.2.10}, {ip: "fd00:2::10"}]
        """;

    private ConfigModel LoadSample()
    {
        File.WriteAllText(Path.Combine(_dir, "pods.yaml"), Pods);
        File.WriteAllText(Path.Combine(_dir, "nodes.yaml"), ConfigYaml.Nodes);
        File.WriteAllText(Path.Combine(_dir, "local.yml"), ConfigYaml.Local);
        File.WriteAllText(Path.Combine(_dir, "README.txt"), "not: [yaml");
        File.WriteAllText(Path.Combine(_dir, ".pods.yaml.swp"), "not: [yaml");
        return ConfigLoader.LoadDirectory(_dir);
    }

    private static IPAddress Ip(string s) => IPAddress.Parse(s);
    private static IPNetwork Net(string s) => IPNetwork.Parse(s);
    private static MacAddress Mac(string s) => MacAddress.Parse(s);

    [Fact]
    public void NodesAreParsed()
    {
        var m = LoadSample();
        Assert.Equal(["node-a", "node-b"], m.Nodes.Select(n => n.Name));

        var a = m.Nodes[0];
        Assert.Equal(new Dictionary<string, string> { ["kubernetes.io/hostname"] = "node-a" }, a.Labels);
        Assert.Equal(new Dictionary<string, string> { ["note"] = "first" }, a.Annotations);
        Assert.Equal([Net("198.19.1.0/24"), Net("fd00:1::/64")], a.PodCidrs.AsEnumerable());
        Assert.Equal([Ip("198.18.0.10"), Ip("2001:db8:1::10")], a.InternalIps.AsEnumerable());
        Assert.Equal(new SourceLocation(Path.Combine(_dir, "nodes.yaml"), 1, 1), a.Source);

        var b = m.Nodes[1];
        Assert.Empty(b.Labels);
        Assert.Empty(b.Annotations);
        Assert.Equal([Net("198.19.2.0/24"), Net("fd00:2::/64")], b.PodCidrs.AsEnumerable());
        Assert.Equal([Ip("198.18.0.11")], b.InternalIps.AsEnumerable());   // ExternalIP is ignored
        Assert.Equal(21, b.Source.Line);

        Assert.Same(a, m.LocalNode);
    }

    [Fact]
    public void NamespacesAreParsed()
    {
        var ns = Assert.Single(LoadSample().Namespaces);
        Assert.Equal("prod", ns.Name);
        Assert.Equal(new Dictionary<string, string> { ["env"] = "prod", ["team"] = "42" }, ns.Labels);
        Assert.Equal(new SourceLocation(Path.Combine(_dir, "pods.yaml"), 4, 1), ns.Source);
    }

    [Fact]
    public void PodsAreParsed()
    {
        var m = LoadSample();
        Assert.Equal(["default/web", "prod/db", "default/api"], m.Pods.Select(p => $"{p.Namespace}/{p.Name}"));

        var web = m.Pods[0];
        Assert.Equal(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "frontend" }, web.Labels);
        Assert.Equal(new Dictionary<string, string> { ["example.com/owner"] = "alice" }, web.Annotations);
        Assert.Equal("node-a", web.NodeName);
        Assert.Equal("web-sa", web.ServiceAccount);
        Assert.Equal([Ip("198.19.1.10"), Ip("fd00:1::10")], web.Ips.AsEnumerable());
        Assert.Equal(MacAddress.Derive("default/web"), web.Mac);
        Assert.Equal(ExpectedIfName("default/web"), web.InterfaceName);
        Assert.Equal(15, web.InterfaceName.Length);
        Assert.StartsWith("lxc", web.InterfaceName);
        Assert.Equal(new SourceLocation(Path.Combine(_dir, "pods.yaml"), 12, 1), web.Source);

        var db = m.Pods[1];
        Assert.Equal("prod", db.Namespace);
        Assert.Empty(db.Labels);
        Assert.Equal("default", db.ServiceAccount);
        Assert.Equal([Ip("198.19.1.11")], db.Ips.AsEnumerable());
        Assert.Equal(Mac("02:00:00:00:01:01"), db.Mac);   // pinned by annotation
        Assert.Equal(ExpectedIfName("prod/db"), db.InterfaceName);

        var api = m.Pods[2];
        Assert.Equal("default", api.Namespace);
        Assert.Equal("node-b", api.NodeName);
        Assert.Equal([Ip("198.19.2.10"), Ip("fd00:2::10")], api.Ips.AsEnumerable());
        Assert.Equal(MacAddress.Derive("default/api"), api.Mac);

        Assert.Equal(["web", "db"], m.LocalPods.Select(p => p.Name));
    }

    [Fact]
    public void LocalNodeIsParsed()
    {
        var local = LoadSample().Local;
        Assert.Equal("node-a", local.Name);
        Assert.Equal(Mac("02:00:00:00:00:aa"), local.RouterMac);
        Assert.Equal(new SourceLocation(Path.Combine(_dir, "local.yml"), 1, 1), local.Source);

        Assert.Equal(2, local.Interfaces.Length);
        var eth0 = local.Interfaces[0];
        Assert.Equal("eth0", eth0.Name);
        Assert.Equal(Mac("02:00:00:00:00:01"), eth0.Mac);
        Assert.Equal([new IfAddress(Ip("198.18.0.10"), 24), new IfAddress(Ip("2001:db8:1::10"), 64)], eth0.Addresses.AsEnumerable());
        Assert.Equal(Net("198.18.0.0/24"), eth0.Addresses[0].Network);
        Assert.Equal(Net("2001:db8:1::/64"), eth0.Addresses[1].Network);
        Assert.Equal(9000, eth0.Mtu);
        Assert.Equal(8, eth0.Source.Line);
        var eth1 = local.Interfaces[1];
        Assert.Equal("eth1", eth1.Name);
        Assert.Equal(Mac("02:00:00:00:00:02"), eth1.Mac);
        Assert.Equal([new IfAddress(Ip("198.18.1.1"), 24)], eth1.Addresses.AsEnumerable());
        Assert.Equal(1500, eth1.Mtu);

        Assert.Equal(
            [
                (Ip("198.18.0.11"), Mac("02:00:00:00:00:0b"), "eth0"),      // inferred from the subnet
                (Ip("2001:db8:1::1"), Mac("02:00:00:00:00:0c"), "eth0"),
                (Ip("198.18.1.254"), Mac("02:00:00:00:00:fe"), "eth1"),
            ],
            local.Neighbors.Select(n => (n.Ip, n.Mac, n.Interface)));
        Assert.Equal(17, local.Neighbors[0].Source.Line);

        Assert.Equal(
            [
                (Net("0.0.0.0/0"), Ip("198.18.1.254"), "eth1"),               // interface resolved from via
                (Net("198.19.2.0/24"), Ip("198.18.0.11"), "eth0"),
                (Net("::/0"), Ip("2001:db8:1::1"), "eth0"),
                (Net("198.18.128.0/17"), (IPAddress?)null, "eth1"),
            ],
            local.Routes.Select(r => (r.Destination, r.Via, r.Interface)));
        Assert.Equal(25, local.Routes[0].Source.Line);
    }

    [Fact]
    public void DefaultRouterMacIsDerivedFromNodeName()
    {
        var m = ConfigLoader.Load([("n.yaml", ConfigYaml.Nodes), ("l.yaml", """
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: node-a}
            """)]);
        Assert.Equal(MacAddress.Derive("router/node-a"), m.Local.RouterMac);
        Assert.Empty(m.Local.Interfaces);
        Assert.Empty(m.Pods);
    }

    [Fact]
    public void InMemoryLoadIsOrderedByFileName()
    {
        var m = ConfigLoader.Load([("z.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: z}"),
            ("b.yaml", ConfigYaml.Local), ("a.yaml", ConfigYaml.Nodes),
            ("m.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: m}")]);
        Assert.Equal(["m", "z"], m.Namespaces.Select(n => n.Name));
    }

    [Fact]
    public void MissingDirectoryIsAConfigError()
    {
        var missing = Path.Combine(_dir, "nope");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadDirectory(missing));
        Assert.Equal(missing, e.Location.File);
    }

    [Fact]
    public void ErrorsInADirectoryNameTheFile()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yaml"), ConfigYaml.Nodes);
        File.WriteAllText(Path.Combine(_dir, "b.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x]\n");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadDirectory(_dir));
        Assert.Equal(new SourceLocation(Path.Combine(_dir, "b.yaml"), 4, 9), e.Location);
        Assert.Equal($"{Path.Combine(_dir, "b.yaml")}:4:9: metadata.name: expected a string, got a list", e.Message);
    }

    private static string ExpectedIfName(string seed) =>
        "lxc" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(seed)))[..12].ToLowerInvariant();
}
