using Dataplane.ClusterMesh.Config;
using Dataplane.Control.Config;

namespace Dataplane.ClusterMesh.Tests;

public class ConfigTests
{
    private const string Valid = """
        apiVersion: dataplane.io/v1alpha1
        kind: ClusterMeshConfig
        metadata:
          name: mesh
        spec:
          cluster:
            name: cluster1
            id: 1
          etcd:
            endpoints: ["http://198.18.0.10:2379", "https://198.18.0.11:2379"]
            leaseTTLSeconds: 30
          remoteClusters:
            - name: cluster2
              id: 2
              endpoints: ["http://198.18.1.10:2379"]
        """;

    [Fact]
    public void ValidConfigLoadsWhole()
    {
        var c = ClusterMeshConfigLoader.Load("mesh.yaml", Valid);
        Assert.Equal("cluster1", c.Cluster);
        Assert.Equal(1u, c.ClusterId);
        Assert.Equal(2, c.Endpoints.Count);
        Assert.Equal(TimeSpan.FromSeconds(30), c.LeaseTtl);
        var r = Assert.Single(c.RemoteClusters);
        Assert.Equal(("cluster2", 2u), (r.Name, r.Id));
        Assert.Equal(["http://198.18.1.10:2379"], r.Endpoints);
        Assert.Equal(new SourceLocation("mesh.yaml", 13, 7), r.Source);
        Assert.False(c.OverlappingPodCidrs);
    }

    [Fact]
    public void OverlappingPodCidrSupportIsCiliumsSwitch()
    {
        var text = Valid.Replace("\r\n", "\n").Replace("  etcd:\n", "  enableOverlappingPodCIDRSupport: true\n  etcd:\n");
        Assert.True(ClusterMeshConfigLoader.Load("mesh.yaml", text).OverlappingPodCidrs);
        var e = Assert.Throws<ConfigException>(() => ClusterMeshConfigLoader.Load("mesh.yaml", text.Replace(": true", ": maybe")));
        Assert.Equal((9, 36), (e.Location.Line, e.Location.Column));
        Assert.Contains("enableOverlappingPodCIDRSupport must be true or false", e.Reason);

        var translated = text.Replace("      id: 2\n", "      id: 2\n      translatedPodCIDRs: [{podCIDR: 198.18.110.0/24, as: 198.18.212.0/24}]\n");
        var r = Assert.Single(ClusterMeshConfigLoader.Load("mesh.yaml", translated).RemoteClusters);
        Assert.Equal(("198.18.110.0/24", "198.18.212.0/24"), (r.TranslatedPodCidrs[0].PodCidr.ToString(), r.TranslatedPodCidrs[0].As.ToString()));
        foreach (var (bad, reason) in new[]
        {
            (translated.Replace(": true", ": false"), "needs enableOverlappingPodCIDRSupport: true"),
            (translated.Replace("198.18.212.0/24", "198.18.212.0/25"), "must have the length of podCIDR"),
            (translated.Replace("198.18.212.0/24", "198.18.212.1/24"), "invalid IPv4 prefix 198.18.212.1/24"),
            (translated.Replace("198.18.212.0/24", "fd00::/120"), "invalid IPv4 prefix fd00::/120"),
        })
            Assert.Contains(reason, Assert.Throws<ConfigException>(() => ClusterMeshConfigLoader.Load("mesh.yaml", bad)).Reason);
    }

    [Theory]
    [InlineData("    id: 1\n", "    id: 0\n", 8, 9, "invalid cluster ID 0")]
    [InlineData("    id: 1\n", "    id: 256\n", 8, 9, "invalid cluster ID 256")]
    [InlineData("    name: cluster1\n", "    name: Cluster_1\n", 7, 11, "invalid cluster name Cluster_1")]
    [InlineData("      id: 2\n", "      id: 1\n", 14, 11, "remote cluster cluster2 has this cluster's ID 1")]
    [InlineData("    - name: cluster2\n", "    - name: cluster1\n", 13, 13, "remote cluster cluster1 has this cluster's name")]
    [InlineData("[\"http://198.18.1.10:2379\"]", "[\"198.18.1.10:2379\"]", 15, 19, "invalid etcd endpoint")]
    [InlineData("    leaseTTLSeconds: 30\n", "    leaseTTLSeconds: 1\n", 11, 22, "leaseTTLSeconds must be")]
    [InlineData("    leaseTTLSeconds: 30\n", "    leaseTTL: 30\n", 11, 5, "unknown field leaseTTL")]
    [InlineData("kind: ClusterMeshConfig", "kind: ClusterMesh", 2, 7, "unsupported kind ClusterMesh")]
    [InlineData("  remoteClusters:\n", "  remoteClusters:\n  - [\n", 14, 0, "")]
    public void InvalidConfigNamesFileLineAndColumn(string find, string replace, int line, int col, string reason)
    {
        var text = Valid.Replace("\r\n", "\n") + "\n";
        Assert.Contains(find, text);
        var e = Assert.Throws<ConfigException>(() => ClusterMeshConfigLoader.Load("mesh.yaml", text.Replace(find, replace)));
        Assert.Equal("mesh.yaml", e.Location.File);
        Assert.Equal(line, e.Location.Line);
        if (col > 0) Assert.Equal(col, e.Location.Column);
        Assert.Contains(reason, e.Reason);
    }

    [Fact]
    public void DuplicateRemoteNamesAndMissingFieldsAreRejected()
    {
        var dup = Valid + "\n    - {name: cluster2, id: 3, endpoints: [\"http://198.18.2.10:2379\"]}\n";
        var e = Assert.Throws<ConfigException>(() => ClusterMeshConfigLoader.Load("m.yaml", dup));
        Assert.Contains("cluster name cluster2 is used twice", e.Message);
        Assert.StartsWith("m.yaml:16:", e.Message);
        var missing = Valid.Replace("    id: 1\n", "");
        e = Assert.Throws<ConfigException>(() => ClusterMeshConfigLoader.Load("m.yaml", missing));
        Assert.Contains("missing field id", e.Message);
    }
}

/// <summary>Cilium's etcd config file: what it accepts and how it refuses the rest.</summary>
public class EtcdConfigFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dp-etcdcfg-" + Guid.NewGuid().ToString("N")[..10]);

    public EtcdConfigFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, "c2");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void PlainEndpointsUserAndPasswordLoad()
    {
        var c = EtcdConfigFile.Load(Write("endpoints:\n- http://198.18.0.10:2379\n- http://198.18.0.11:2379\nusername: cilium\npassword: pw\n"));
        Assert.Equal(["http://198.18.0.10:2379", "http://198.18.0.11:2379"], c.Endpoints);
        Assert.Equal(("cilium", "pw"), (c.Username, c.Password));
        Assert.False(c.UsesTls);
        Assert.Equal(Path.Combine(_dir, "c2"), c.SourceFile);
    }

    [Theory]
    [InlineData("endpoints: [http://198.18.0.10:2379]\nca-cert: x\n", 2, "unknown field ca-cert")]
    [InlineData("endpoints: []\n", 1, "endpoints must be a non-empty list")]
    [InlineData("endpoints: [198.18.0.10:2379]\n", 1, "invalid etcd endpoint")]
    [InlineData("endpoints: [http://198.18.0.10:2379, https://198.18.0.11:2379]\n", 1, "endpoints mix http and https")]
    [InlineData("endpoints: [http://198.18.0.10:2379]\nserver-name: etcd\n", 1, "TLS settings given but the endpoints are http://")]
    [InlineData("endpoints: [https://198.18.0.10:2379]\ncert-file: c.crt\n", 1, "cert-file and key-file go together")]
    [InlineData("endpoints: [https://198.18.0.10:2379]\ntrusted-ca-file: missing-ca.crt\n", 0, "missing-ca.crt")]
    [InlineData("endpoints: [http://198.18.0.10:2379]\nusername: u\n", 1, "username without password")]
    public void InvalidFilesAreRefusedWithTheReason(string text, int line, string reason)
    {
        var e = Assert.Throws<ConfigException>(() => EtcdConfigFile.Load(Write(text)));
        Assert.Equal(Path.Combine(_dir, "c2"), e.Location.File);
        Assert.Equal(line, e.Location.Line);
        Assert.Contains(reason, e.Reason);
    }

    [Fact]
    public void AClustermeshDirectoryListsOnlyOtherClustersConfigFiles()
    {
        File.WriteAllText(Path.Combine(_dir, "c2"), "endpoints:\n- http://198.18.0.10:2379\n");
        File.WriteAllText(Path.Combine(_dir, "c3"), "endpoints:\n- http://198.18.0.11:2379\n");
        File.WriteAllText(Path.Combine(_dir, "c1"), "endpoints:\n- http://198.18.0.12:2379\n");        // this cluster
        File.WriteAllText(Path.Combine(_dir, "..data"), "endpoints:\n- http://198.18.0.13:2379\n");    // a Secret's link
        File.WriteAllText(Path.Combine(_dir, "c2.etcd-client.crt"), "-----BEGIN CERTIFICATE-----\n");  // beside them
        Assert.Equal(["c2", "c3"], EtcdConfigFile.ClustersIn(_dir, "c1").Select(c => c.Name));
    }
}
