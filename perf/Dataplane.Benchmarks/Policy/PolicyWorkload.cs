using System.Text;
using Dataplane.Control.Config;

namespace Dataplane.Benchmarks.Policy;

/// <summary>
/// A node with one local pod (prod/web) and <c>rules</c> CiliumNetworkPolicy rules selecting it, each an
/// L3+L4 rule from its own /32 CIDR to one port (so every rule is a distinct key in web's ingress map and a
/// distinct CIDR identity in the ipcache) — the worst case for one endpoint's map.
/// </summary>
internal static class PolicyWorkload
{
    public const string Base = """
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          routerMac: "02:00:00:00:00:99"
          interfaces:
            - {name: eth0, mac: "02:00:00:00:0a:01", addresses: ["198.18.0.1/24"]}
          neighbors:
            - {ip: 198.18.0.254, mac: "02:00:00:00:00:fe"}
          routes:
            - {destination: 0.0.0.0/0, via: 198.18.0.254}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["10.0.1.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: prod, labels: {app: web}}
        spec: {nodeName: node-a}
        status: {podIPs: [{ip: 10.0.1.10}]}
        """;

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
