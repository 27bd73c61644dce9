namespace Dataplane.Bgp.Tests.Cilium;

/// <summary>A node with two services and the three Cilium BGP CRDs, in the shape of Cilium's docs.</summary>
internal static class CiliumManifests
{
    public static string Crds(string peerAddress, int peerPort, uint peerAsn) => $$"""
        apiVersion: cilium.io/v2alpha1
        kind: CiliumBGPClusterConfig
        metadata: {name: cilium-bgp}
        spec:
          nodeSelector:
            matchLabels: {bgp: "on"}
          bgpInstances:
            - name: instance-65000
              localASN: 65000
              peers:
                - name: tor
                  peerASN: {{peerAsn}}
                  peerAddress: "{{peerAddress}}"
                  peerConfigRef: {name: tor-peer}
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumBGPPeerConfig
        metadata: {name: tor-peer}
        spec:
          transport: {peerPort: {{peerPort}}}
          timers: {holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1}
          gracefulRestart: {enabled: true, restartTimeSeconds: 30}
          families:
            - afi: ipv4
              safi: unicast
              advertisements:
                matchLabels: {advertise: bgp}
            - afi: ipv6
              safi: unicast
              advertisements:
                matchLabels: {advertise: bgp}
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumBGPAdvertisement
        metadata:
          name: pods-and-services
          labels: {advertise: bgp}
        spec:
          advertisements:
            - advertisementType: PodCIDR
              attributes:
                communities: {standard: ["65000:10"]}
                localPreference: 110
            - advertisementType: Service
              service:
                addresses: [LoadBalancerIP, ExternalIP]
              selector:
                matchExpressions:
                  - {key: expose, operator: In, values: ["bgp"]}
              attributes:
                communities: {standard: ["65000:20"]}
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumBGPAdvertisement
        metadata:
          name: not-selected
          labels: {advertise: other}
        spec:
          advertisements:
            - advertisementType: Service
              service: {addresses: [ClusterIP]}
              selector:
                matchLabels: {}
        """;

    public const string Cluster = """
        apiVersion: v1
        kind: Node
        metadata:
          name: node-a
          labels: {bgp: "on"}
        spec:
          podCIDRs: ["198.18.128.0/24", "2001:db8:128::/64"]
        ---
        apiVersion: v1
        kind: Node
        metadata:
          name: node-b
          labels: {bgp: "off"}
        spec:
          podCIDRs: ["198.18.129.0/24"]
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: shop
          labels: {expose: bgp}
        spec:
          type: LoadBalancer
          clusterIP: 198.18.130.10
          externalIPs: ["198.18.131.1"]
        status:
          loadBalancer:
            ingress:
              - ip: 198.18.132.1
              - ip: 2001:db8:132::1
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: local-only
          namespace: shop
          labels: {expose: bgp}
        spec:
          type: LoadBalancer
          clusterIP: 198.18.130.11
          externalTrafficPolicy: Local
        status:
          loadBalancer:
            ingress: [{ip: 198.18.132.2}]
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: internal
          namespace: shop
        spec:
          clusterIP: 198.18.130.12
        """;

    public static string ReadyBackend(string node, bool ready) => $$"""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: local-only-abc
          namespace: shop
          labels: {kubernetes.io/service-name: local-only}
        endpoints:
          - addresses: ["198.18.128.5"]
            nodeName: {{node}}
            conditions: {ready: {{(ready ? "true" : "false")}}}
        """;
}
