using System.Net;
using Dataplane.Control.Config;
using Dataplane.Host.Bgp;

namespace Dataplane.Linux.Tests;

/// <summary>What the agent's BGP speakers are told to do for a node (no sockets: the plan only).</summary>
public class BgpPlanningTests
{
    private const string Cluster = """
        apiVersion: v1
        kind: Node
        metadata: {name: n1, labels: {rack: r1}}
        spec: {podCIDRs: ["198.18.100.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.110.1}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: n1}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:00:01", addresses: ["198.18.110.1/24"]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default, labels: {expose: bgp}}
        spec: {type: LoadBalancer, clusterIP: 198.18.121.10, ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: local, namespace: default, labels: {expose: bgp}}
        spec: {type: LoadBalancer, externalTrafficPolicy: Local, clusterIP: 198.18.121.11, ports: [{port: 80}]}
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumLoadBalancerIPPool
        metadata: {name: vips}
        spec: {blocks: [{cidr: 198.18.120.0/28}]}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPClusterConfig
        metadata: {name: rack}
        spec:
          nodeSelector: {matchLabels: {rack: r1}}
          bgpInstances:
          - name: tor
            localASN: 65001
            peers: [{name: a, peerAddress: 198.18.110.2, peerASN: 65100, peerConfigRef: {name: pc}}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPPeerConfig
        metadata: {name: pc}
        spec:
          transport: {peerPort: 1179}
          authSecretRef: md5
          families: [{afi: ipv4, safi: unicast, advertisements: {matchLabels: {adv: "yes"}}}]
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: md5, namespace: kube-system}
        stringData: {password: pw}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPAdvertisement
        metadata: {name: adv, labels: {adv: "yes"}}
        spec:
          advertisements:
          - advertisementType: PodCIDR
          - {advertisementType: Service, service: {addresses: [LoadBalancerIP]}, selector: {matchLabels: {expose: bgp}}}
        """;

    private const string Override = "\n" + """
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPNodeConfigOverride
        metadata: {name: n1}
        spec:
          bgpInstances: [{name: tor, routerID: 192.0.2.1, localPort: 1790, localASN: 65009, peers: [{name: a, localAddress: 198.18.110.1}]}]
        """;

    private static List<DesiredInstance> Plan(string yaml, List<string> problems) =>
        BgpPlanning.Plan(ConfigLoader.Load([("c.yaml", yaml)]), _ => { }, problems);

    [Fact]
    public void PeersAndRoutesFollowTheCrdsAndLbIpam()
    {
        var problems = new List<string>();
        var inst = Assert.Single(Plan(Cluster, problems));
        Assert.Empty(problems);
        Assert.Equal((65001u, IPAddress.Parse("198.18.110.1"), null), (inst.Speaker.LocalAs, inst.Speaker.RouterId, inst.Speaker.Listen));
        var peer = Assert.Single(inst.Plan.Peers);
        Assert.Equal((IPAddress.Parse("198.18.110.2"), 65100u, 1179, "pw"), (peer.Config.Address, peer.Config.RemoteAs, peer.Config.Port, peer.Config.Password));
        var model = ConfigLoader.Load([("c.yaml", Cluster)]);
        var vip = model.LbIpAllocations.Single(a => a.Service == "web").Ip;
        var localVip = model.LbIpAllocations.Single(a => a.Service == "local").Ip;
        var prefixes = peer.Routes.Keys.Select(p => p.ToString()).ToList();
        Assert.Contains("198.18.100.0/24", prefixes);
        Assert.Contains($"{vip}/32", prefixes);
        Assert.DoesNotContain($"{localVip}/32", prefixes);   // eTP Local without a ready local backend
    }

    [Fact]
    public void NodeOverrideSetsRouterIdPortAsnAndSourceAddress()
    {
        var inst = Assert.Single(Plan(Cluster + Override, []));
        Assert.Equal((65009u, IPAddress.Parse("192.0.2.1"), 1790), (inst.Speaker.LocalAs, inst.Speaker.RouterId, inst.Speaker.Listen!.Port));
        Assert.Equal(IPAddress.Parse("198.18.110.1"), Assert.Single(inst.Plan.Peers).Config.LocalAddress);
    }

    [Fact]
    public void UnselectedNodeRunsNothingAndAMissingRouterIdIsAProblem()
    {
        Assert.Empty(Plan(Cluster.Replace("labels: {rack: r1}}", "labels: {rack: r2}}"), []));
        var problems = new List<string>();
        var noV4 = Cluster.Replace("status: {addresses: [{type: InternalIP, address: 198.18.110.1}]}", "")
            .Replace("addresses: [\"198.18.110.1/24\"]", "addresses: [\"2001:db8::1/64\"]");
        Assert.Empty(Plan(noV4, problems));
        Assert.Contains("no router ID", Assert.Single(problems));
    }
}
