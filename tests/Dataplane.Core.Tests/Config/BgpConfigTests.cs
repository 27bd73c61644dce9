using System.Net;
using Dataplane.Control.Config;

namespace Dataplane.Core.Tests.Config;

/// <summary>Cilium BGP control plane v2 resources: what the loader reads, and bad input blamed at file:line.</summary>
public class BgpConfigTests
{
    internal const string Bgp = """
        apiVersion: cilium.io/v2
        kind: CiliumBGPClusterConfig
        metadata: {name: tor}
        spec:
          nodeSelector: {matchLabels: {kubernetes.io/hostname: node-a}}
          bgpInstances:
          - name: main
            localASN: 65001
            peers:
            - name: tor-a
              peerAddress: 198.18.0.1
              peerASN: 65100
              peerConfigRef: {name: tor-peer}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPPeerConfig
        metadata: {name: tor-peer}
        spec:
          transport: {peerPort: 1179}
          timers: {holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 2}
          authSecretRef: tor-md5
          gracefulRestart: {enabled: true, restartTimeSeconds: 30}
          families:
          - afi: ipv4
            safi: unicast
            advertisements: {matchLabels: {advertise: bgp}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: tor-md5, namespace: kube-system}
        data: {password: czNjcmV0}
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumBGPAdvertisement
        metadata:
          name: routes
          labels: {advertise: bgp}
        spec:
          advertisements:
          - advertisementType: PodCIDR
            attributes:
              communities: {standard: ["65001:100"], wellKnown: [no-export]}
          - advertisementType: Service
            service: {addresses: [LoadBalancerIP]}
            selector: {matchExpressions: [{key: app, operator: Exists}]}
            attributes: {localPreference: 200}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPNodeConfigOverride
        metadata: {name: node-a}
        spec:
          bgpInstances:
          - name: main
            routerID: 198.18.0.10
            localPort: 1790
            peers: [{name: tor-a, localAddress: 198.18.0.10}]
        """;

    [Fact]
    public void ReadsEveryBgpKind()
    {
        var bgp = ConfigYaml.Load(Bgp).Bgp;
        var cc = Assert.Single(bgp.ClusterConfigs);
        var inst = Assert.Single(cc.Instances);
        Assert.Equal(65001u, inst.LocalAsn);
        var peer = Assert.Single(inst.Peers);
        Assert.Equal((IPAddress.Parse("198.18.0.1"), 65100u, "tor-peer"), (peer.Address, peer.PeerAsn, peer.PeerConfigRef));

        var pc = Assert.Single(bgp.PeerConfigs);
        Assert.Equal(1179, pc.PeerPort);
        Assert.Equal((9, 3, 2), (pc.HoldTimeSeconds, pc.KeepAliveTimeSeconds, pc.ConnectRetryTimeSeconds));
        Assert.Equal("s3cret", pc.Password);
        Assert.True(pc.GracefulRestart);
        Assert.Equal(30, pc.RestartTimeSeconds);
        var fam = Assert.Single(pc.Families);
        Assert.False(fam.Ipv6);
        Assert.NotNull(fam.Advertisements);

        var adv = Assert.Single(bgp.Advertisements);
        Assert.Equal("bgp", adv.Labels["advertise"]);
        Assert.Equal(BgpAdvertisementType.PodCIDR, adv.Entries[0].Type);
        Assert.Equal([(65001u << 16) | 100, 0xFFFFFF01], adv.Entries[0].Communities.ToArray());
        Assert.True(adv.Entries[1].LoadBalancerIp);
        Assert.False(adv.Entries[1].ClusterIp);
        Assert.Equal(200u, adv.Entries[1].LocalPreference);

        var o = Assert.Single(Assert.Single(bgp.NodeOverrides).Instances);
        Assert.Equal((IPAddress.Parse("198.18.0.10"), (int?)1790), (o.RouterId, o.LocalPort));
        Assert.Equal(IPAddress.Parse("198.18.0.10"), Assert.Single(o.Peers).LocalAddress);
    }

    [Fact]
    public void PeerConfigDefaultsAreCiliums()
    {
        var pc = Assert.Single(ConfigYaml.Load("apiVersion: cilium.io/v2\nkind: CiliumBGPPeerConfig\nmetadata: {name: p}\n").Bgp.PeerConfigs);
        Assert.Equal((179, 90, 30, 120), (pc.PeerPort, (int)pc.HoldTimeSeconds, (int)pc.KeepAliveTimeSeconds, (int)pc.ConnectRetryTimeSeconds));
        Assert.Equal(2, pc.Families.Length);
        Assert.All(pc.Families, f => Assert.Null(f.Advertisements));
        Assert.Null(pc.Password);
    }

    [Theory]
    // Line numbers are within 50-test.yaml: Bgp with one line changed.
    [InlineData("localASN: 65001", "localASN: 0", 8, "AS number 0 is reserved")]
    [InlineData("localASN: 65001", "localASN: 4294967296", 8, "expected an AS number")]
    [InlineData("peerAddress: 198.18.0.1", "peerAddress: 198.18.0.300", 11, "invalid IP address")]
    [InlineData("peerConfigRef: {name: tor-peer}", "peerConfigRef: {name: nope}", 10, "CiliumBGPPeerConfig 'nope', which does not exist")]
    [InlineData("peerConfigRef: {name: tor-peer}", "autoDiscovery: {mode: DefaultGateway}", 13, "auto-discovery is not supported")]
    [InlineData("holdTimeSeconds: 9, keepAliveTimeSeconds: 3", "holdTimeSeconds: 2, keepAliveTimeSeconds: 3", 20, "out of range 3..65535")]
    [InlineData("holdTimeSeconds: 9, keepAliveTimeSeconds: 3", "holdTimeSeconds: 9, keepAliveTimeSeconds: 30", 20, "must not exceed holdTimeSeconds")]
    [InlineData("authSecretRef: tor-md5", "authSecretRef: missing", 21, "no Secret kube-system/missing")]
    [InlineData("data: {password: czNjcmV0}", "data: {password: '%%%'}", 31, "is not valid base64")]
    [InlineData("data: {password: czNjcmV0}", "data: {user: czNjcmV0}", 28, "has no non-empty key 'password'")]
    [InlineData("safi: unicast", "safi: multicast", 25, "only safi unicast")]
    [InlineData("- advertisementType: PodCIDR", "- advertisementType: Interface", 40, "Interface is not supported")]
    [InlineData("wellKnown: [no-export]", "wellKnown: [no-such]", 42, "unknown well-known community 'no-such'")]
    [InlineData("standard: [\"65001:100\"]", "standard: [\"65001:70000\"]", 42, "each half of asn:value is 0..65535")]
    [InlineData("service: {addresses: [LoadBalancerIP]}", "service: {addresses: [NodeIP]}", 44, "must be ClusterIP, ExternalIP or LoadBalancerIP")]
    [InlineData("routerID: 198.18.0.10", "routerID: 2001:db8::1", 54, "routerID must be an IPv4 address")]
    [InlineData("peers: [{name: tor-a, localAddress: 198.18.0.10}]", "peers: [{name: tor-b}]", 56, "peer 'tor-b', which BGP instance 'main' does not have")]
    public void BadInputIsBlamedAtItsLine(string from, string to, int line, string reason)
    {
        Assert.Contains(from, Bgp);
        DocumentErrorTests.AssertFails(Bgp.Replace(from, to), line, reason);
    }
}
