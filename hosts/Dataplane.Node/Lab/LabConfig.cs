using System.Text;

namespace Dataplane.Node.Lab;

/// <summary>
/// The YAML each lab node's agent reads — what a user of Cilium would write: v1 Nodes (VXLAN between them
/// through the dataplane.io/tunnel annotation), the Pods, a ClusterIP Service with its EndpointSlice, one
/// CiliumNetworkPolicy that allows web → api on TCP 8080 and one that denies the scanner outright; plus the
/// node's own DataplaneNode (its underlay interface; the peer's MAC is resolved by ARP).
/// </summary>
public static class LabConfig
{
    public const string ServiceIp = "198.18.30.10";
    public const int ServicePort = 80, TargetPort = 8080;

    public static void Write(LabTopology t, LabNode node, string dir)
    {
        WriteShared(t, dir);
        File.WriteAllText(Path.Combine(dir, "dataplane-node.yaml"), DataplaneNode(t, node));
    }

    /// <summary>The cluster's manifests, the same for every agent (with --mesh, the gateway's and the VM's too).</summary>
    public static void WriteShared(LabTopology t, string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cluster.yaml"), Cluster(t));
        File.WriteAllText(Path.Combine(dir, "service.yaml"), Service(t));
        File.WriteAllText(Path.Combine(dir, "policy.yaml"), Policies);
        if (t.Mesh is not null) File.WriteAllText(Path.Combine(dir, "mesh.yaml"), LabMeshConfig.Shared);
    }

    private static string Cluster(LabTopology t)
    {
        var y = new StringBuilder();
        foreach (var n in t.Nodes)
            y.Append($$"""
                apiVersion: v1
                kind: Node
                metadata:
                  name: {{n.Name}}
                  annotations: {dataplane.io/tunnel: vxlan}
                spec: {podCIDRs: ["{{n.PodCidr}}"]}
                status: {addresses: [{type: InternalIP, address: {{n.UnderlayIp}}}]}
                ---

                """);
        y.Append("""
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop, labels: {team: shop}}

            """);
        foreach (var p in t.Pods)
            y.Append($$"""
                ---
                apiVersion: v1
                kind: Pod
                metadata:
                  name: {{p.Name}}
                  namespace: {{p.Namespace}}
                  labels: {app: {{p.App}}}
                  annotations: {dataplane.io/mac: "{{p.Mac}}"}
                spec: {nodeName: {{t.NodeOf(p).Name}}}
                status: {podIPs: [{ip: {{p.Ip}}}]}

                """);
        return y.ToString();
    }

    private static string Service(LabTopology t)
    {
        var y = new StringBuilder($$"""
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: shop}
            spec:
              type: ClusterIP
              clusterIP: {{ServiceIp}}
              selector: {app: api}
              ports: [{name: http, port: {{ServicePort}}, targetPort: {{TargetPort}}, protocol: TCP}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: api-lab
              namespace: shop
              labels: {kubernetes.io/service-name: api}
            addressType: IPv4
            ports: [{name: http, port: {{TargetPort}}, protocol: TCP}]
            endpoints:

            """);
        foreach (var p in t.Pods.Where(p => p.App == "api"))
            y.Append($"""
                - addresses: [{p.Ip}]
                  nodeName: {t.NodeOf(p).Name}
                  conditions: {"{"}ready: true{"}"}
                  targetRef: {"{"}kind: Pod, namespace: {p.Namespace}, name: {p.Name}{"}"}

                """);
        return y.ToString();
    }

    private const string Policies = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: api-allow-web, namespace: shop}
        spec:
          endpointSelector: {matchLabels: {app: api}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: web}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: api-deny-scanner, namespace: shop}
        spec:
          endpointSelector: {matchLabels: {app: api}}
          ingressDeny:
          - fromEndpoints: [{matchLabels: {app: scanner}}]

        """;

    private static string DataplaneNode(LabTopology t, LabNode node)
    {
        // No neighbours: each node resolves the other's underlay address by ARP (and answers the other's request).
        return $$"""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: {{node.Name}}}
            spec:
              routerMac: "02:00:00:00:{{node.Index:x2}}:99"
              interfaces:
              - {name: {{node.Underlay}}, mac: "{{node.UnderlayMac}}", addresses: ["{{node.UnderlayIp}}/24"]}
              overlay: {vxlanPort: 8472}

            """;
    }
}
