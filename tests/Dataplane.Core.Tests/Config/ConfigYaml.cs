using Dataplane.Control.Config;

namespace Dataplane.Core.Tests.Config;

/// <summary>A small valid cluster that validation tests add one faulty document to.</summary>
internal static class ConfigYaml
{
    /// <summary>node-a (local) and node-b, both dual-stack.</summary>
    public const string Nodes = """
        apiVersion: v1
        kind: Node
        metadata:
          name: node-a
          labels:
            kubernetes.io/hostname: node-a
          annotations:
            note: "first"
        spec:
          podCIDR: 198.19.1.0/24
          podCIDRs: ["198.19.1.0/24", "fd00:1::/64"]
        status:
          addresses:
          - type: InternalIP
            address: 198.18.0.10
          - type: InternalIP
            address: 2001:db8:1::10
          - type: Hostname
            address: node-a
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: node-b
        spec:
          podCIDRs:
          - 198.19.2.0/24
          - fd00:2::/64
        status:
          addresses:
          - type: InternalIP
            address: 198.18.0.11
          - type: ExternalIP
            address: 198.18.200.11
        """;

    /// <summary>The DataplaneNode for node-a: two interfaces, neighbours, a default route per family.</summary>
    public const string Local = """
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata:
          name: node-a
        spec:
          routerMac: "02:00:00:00:00:aa"
          interfaces:
          - name: eth0
            mac: "02:00:00:00:00:01"
            addresses: ["198.18.0.10/24", "2001:db8:1::10/64"]
            mtu: 9000
          - name: eth1
            mac: 02-00-00-00-00-02
            addresses:
            - 198.18.1.1/24
          neighbors:
          - ip: 198.18.0.11
            mac: "02:00:00:00:00:0b"
          - ip: 2001:db8:1::1
            mac: "02:00:00:00:00:0c"
            interface: eth0
          - ip: 198.18.1.254
            mac: "02:00:00:00:00:fe"
          routes:
          - destination: 0.0.0.0/0
            via: 198.18.1.254
          - destination: 198.19.2.0/24
            via: 198.18.0.11
            interface: eth0
          - destination: "::/0"
            via: 2001:db8:1::1
          - destination: 198.18.128.0/17
            interface: eth1
        """;

    /// <summary>Loads the base cluster plus <paramref name="yaml"/> as "50-test.yaml".</summary>
    public static ConfigModel Load(string yaml, bool withLocal = true)
    {
        var files = new List<(string, string)> { ("00-nodes.yaml", Nodes), ("50-test.yaml", yaml) };
        if (withLocal)
            files.Add(("10-local.yaml", Local));
        return ConfigLoader.Load(files);
    }
}
