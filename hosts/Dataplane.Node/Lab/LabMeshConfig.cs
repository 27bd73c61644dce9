using static Dataplane.Node.Lab.LabMeshNetwork;

namespace Dataplane.Node.Lab;

/// <summary>
/// The YAML `lab --mesh` adds — what a Cilium Mesh user would write. Shared by every agent: the gateway's Node and
/// DataplaneGateway (on-prem prefix 198.18.41.0/24), the VM as an ExternalWorkload (shop/billing-vm, app=billing),
/// the portal Service shop/api-portal (global + portal, LoadBalancer; its VIP 198.18.50.10 from LB-IPAM, ports 80 → 8080
/// and 9090)
/// and the CiliumNetworkPolicy api-allow-billing that lets the VM's label reach the api pods on TCP 8080 only.
/// The gateway's own: its DataplaneNode and its BGP session to the router (Cilium's BGP v2 resources: the pod CIDRs
/// and the portal VIP announced).
/// </summary>
public static class LabMeshConfig
{
    public const int DeniedPort = 9090;
    public const uint GatewayAs = 65001, RouterAs = 65100;

    public static string Shared => $$"""
        apiVersion: v1
        kind: Node
        metadata:
          name: {{GatewayName}}
          labels: {dataplane.io/role: gateway}
          annotations: {dataplane.io/tunnel: vxlan}
        status: {addresses: [{type: InternalIP, address: {{GatewayMeshIp}}}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneGateway
        metadata: {name: {{GatewayName}}}
        spec:
          meshInterfaces: [{{MeshInterface}}]
          onPremInterfaces: [{{OnPremInterface}}]
          onPremPrefixes: ["{{VmSubnet}}"]
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: ExternalWorkload
        metadata: {name: {{VmName}}, namespace: shop, labels: {app: billing} }
        spec: {addresses: ["{{VmIp}}"], gateway: {{GatewayName}}}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: api-portal
          namespace: shop
          labels: {portal: "true"}
          annotations: {service.cilium.io/global: "true", io.cilium/portal: "true"}
        spec:
          type: LoadBalancer
          clusterIP: 198.18.30.11
          selector: {app: api}
          ports:
          - {name: http, port: 80, targetPort: {{LabConfig.TargetPort}}, protocol: TCP}
          - {name: admin, port: {{DeniedPort}}, targetPort: {{DeniedPort}}, protocol: TCP}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumLoadBalancerIPPool
        metadata: {name: portal}
        spec:
          blocks: [{start: "{{Vip}}", stop: "{{Vip}}"}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: api-allow-billing, namespace: shop}
        spec:
          endpointSelector: {matchLabels: {app: api} }
          ingress:
          - fromEndpoints: [{matchLabels: {app: billing} }]
            toPorts: [{ports: [{port: "{{LabConfig.TargetPort}}", protocol: TCP}] }]

        """;

    /// <summary>The gateway's directory: the shared manifests, its DataplaneNode and its BGP toward the router.</summary>
    public static void WriteGateway(LabTopology t, string dir)
    {
        LabConfig.WriteShared(t, dir);
        File.WriteAllText(Path.Combine(dir, "gateway.yaml"), $$"""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: {{GatewayName}}}
            spec:
              routerMac: "02:00:00:00:03:99"
              interfaces:
              - {name: {{MeshInterface}}, mac: "{{MeshMac}}", addresses: ["{{GatewayMeshIp}}/24"]}
              - {name: {{OnPremInterface}}, mac: "{{OnPremMac}}", addresses: ["{{GatewayOnPremIp}}/24"]}
              overlay: {vxlanPort: 8472}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumBGPClusterConfig
            metadata: {name: onprem}
            spec:
              nodeSelector: {matchLabels: {dataplane.io/role: gateway} }
              bgpInstances:
              - name: onprem
                localASN: {{GatewayAs}}
                peers:
                - {name: router, peerAddress: {{RouterIp}}, peerASN: {{RouterAs}}, peerConfigRef: {name: router} }
            ---
            apiVersion: cilium.io/v2
            kind: CiliumBGPPeerConfig
            metadata: {name: router}
            spec:
              timers: {holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1}
              families:
              - afi: ipv4
                safi: unicast
                advertisements: {matchLabels: {advertise: mesh} }
            ---
            apiVersion: cilium.io/v2
            kind: CiliumBGPAdvertisement
            metadata: {name: mesh-routes, labels: {advertise: mesh} }
            spec:
              advertisements:
              - advertisementType: PodCIDR
              - advertisementType: Service
                service: {addresses: [LoadBalancerIP]}
                selector: {matchLabels: {portal: "true"} }

            """);
    }

    /// <summary>BIRD's configuration on the router: one passive eBGP session to the gateway; the VM subnet announced to
    /// it, what it announces (pod CIDRs, the VIP) exported into the router's kernel.</summary>
    public static string Bird(string logFile) => $$"""
        router id {{RouterIp}};
        log "{{logFile}}" all;
        protocol device { scan time 1; }
        protocol direct lan { ipv4; interface "tvm"; }
        protocol kernel { ipv4 { import none; export filter { if proto = "meshgw" then accept; reject; }; }; }
        protocol bgp meshgw {
          local {{RouterIp}} as {{RouterAs}};
          neighbor {{GatewayOnPremIp}} as {{GatewayAs}};
          passive on;
          hold time 9;
          keepalive time 3;
          ipv4 { import all; export filter { if proto = "lan" then accept; reject; }; };
        }
        """;
}
