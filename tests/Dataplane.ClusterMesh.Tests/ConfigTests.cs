using Dataplane.ClusterMesh.Config;
using Dataplane.Core.Config;

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
