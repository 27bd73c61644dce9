namespace Dataplane.Linux.Tests.Support;

/// <summary>
/// The gateway tests' BGP towards the on-prem router (<see cref="BirdTor"/>), as Cilium's BGP v2 resources: one
/// eBGP session from the gateway (AS 65001, nodes labelled dataplane.io/role=gateway) to the router, the mesh's pod
/// CIDRs announced and, for the portal tests, the LoadBalancer VIPs of the services labelled app=web.
/// </summary>
internal static class OnPremBgpYaml
{
    /// <param name="holdSeconds">The hold time the gateway offers (keepalive a third of it); the session uses the smaller of both sides'.</param>
    public static string For(string routerIp, bool announceWebVips, int holdSeconds = 9) => $$$"""
        apiVersion: cilium.io/v2
        kind: CiliumBGPClusterConfig
        metadata: {name: onprem}
        spec:
          nodeSelector: {matchLabels: {dataplane.io/role: gateway}}
          bgpInstances:
          - name: onprem
            localASN: 65001
            peers:
            - {name: router-1, peerAddress: {{{routerIp}}}, peerASN: {{{BirdTor.As}}}, peerConfigRef: {name: router}}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPPeerConfig
        metadata: {name: router}
        spec:
          timers: {holdTimeSeconds: {{{holdSeconds}}}, keepAliveTimeSeconds: {{{Math.Max(1, holdSeconds / 3)}}}, connectRetryTimeSeconds: 1}
          families:
          - afi: ipv4
            safi: unicast
            advertisements: {matchLabels: {advertise: mesh} }
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPAdvertisement
        metadata: {name: mesh-routes, labels: {advertise: mesh}}
        spec:
          advertisements:
          - advertisementType: PodCIDR
        """ + (announceWebVips ? """

          - advertisementType: Service
            service: {addresses: [LoadBalancerIP]}
            selector: {matchLabels: {app: web}}
        """ : "");
}
