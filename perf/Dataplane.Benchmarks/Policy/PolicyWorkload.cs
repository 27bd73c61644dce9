using System.Text;
using Dataplane.Control.Config;
using Dataplane.Testing.Fixtures;

namespace Dataplane.Benchmarks.Policy;

/// <summary>
/// A node with one local pod (prod/web) and <c>rules</c> CiliumNetworkPolicy rules selecting it, each an
/// L3+L4 rule from its own /32 CIDR to one port (so every rule is a distinct key in web's ingress map and a
/// distinct CIDR identity in the ipcache) — the worst case for one endpoint's map.
/// </summary>
internal static class PolicyWorkload
{
    public static readonly string Base = ClusterYaml.Docs(
        ClusterYaml.DataplaneNode("node-a", "02:00:00:00:0a:01", ["198.18.0.1/24"], [("198.18.0.254", "02:00:00:00:00:fe")],
            [("0.0.0.0/0", "198.18.0.254")]),
        ClusterYaml.Node("node-a", ["10.0.1.0/24"], ["198.18.0.1"]),
        ClusterYaml.Pod("prod", "web", "app: web", "node-a", ["10.0.1.10"]));

    /// <summary>Source address of rule i (outside the cluster: 100.64.0.0/10).</summary>
    public static string Peer(int i) => $"100.{64 + (i >> 16)}.{(i >> 8) & 0xFF}.{i & 0xFF}";

    public static string Policies(int rules)
    {
        var sb = new StringBuilder();
        sb.Append("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: many, namespace: prod}\nspecs:\n");
        for (int i = 0; i < rules; i++)
        {
            sb.Append("- endpointSelector: {matchLabels: {app: web}}\n  ingress:\n  - fromCIDR: [").Append(Peer(i))
              .Append("/32]\n    toPorts: [{ports: [{port: \"").Append(1024 + i % 60000).Append("\", protocol: TCP}]}]\n");
        }
        return sb.ToString();
    }

    public static ConfigModel Load(int rules) => ConfigLoader.Load([("base.yaml", Base), ("policy.yaml", Policies(rules))]);
}
