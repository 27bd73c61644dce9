using Dataplane.Control.Config;
using Dataplane.Core.Tests.Config;

namespace Dataplane.Core.Tests.Services;

/// <summary>
/// Service, EndpointSlice, CiliumEgressGatewayPolicy and the DataplaneNode's masquerade/loadBalancing sections:
/// what loads, and malformed or conflicting documents rejected whole with file:line:col.
/// </summary>
public sealed class ServiceConfigTests
{
    private const string Svc = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: prod
          annotations: {service.cilium.io/lb-algorithm: maglev}
        spec:
          type: LoadBalancer
          clusterIP: 198.18.50.10
          externalIPs: [198.18.61.1]
          sessionAffinity: ClientIP
          sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
          externalTrafficPolicy: Local
          internalTrafficPolicy: Local
          ports:
          - {name: http, port: 80, targetPort: http, nodePort: 30080}
          - {name: dns, port: 53, targetPort: 5353, protocol: UDP}
        status:
          loadBalancer: {ingress: [{ip: 198.18.60.1}]}
        """;

    [Fact]
    public void FullServiceSliceAndPolicyLoad()
    {
        var model = ConfigYaml.Load(Svc + """

            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-x1, namespace: prod, labels: {kubernetes.io/service-name: web}}
            addressType: IPv4
            ports: [{name: http, port: 8080}]
            endpoints:
            - {addresses: [198.19.1.5], nodeName: node-a}
            - {addresses: [198.19.2.5], nodeName: node-b, conditions: {ready: false, serving: true, terminating: true}}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: egw}
            spec:
              selectors: [{podSelector: {matchLabels: {app: x}}}]
              destinationCIDRs: [0.0.0.0/0]
              excludedCIDRs: [198.18.0.0/15]
              egressGateway: {nodeSelector: {matchLabels: {kubernetes.io/hostname: node-a}}, interface: eth0}
              egressGateways:
              - {nodeSelector: {matchLabels: {pool: b}}, egressIP: 198.18.0.99}
            """);
        var s = Assert.Single(model.Services);
        Assert.Equal((ServiceType.LoadBalancer, LbAlgorithm.Maglev, true, 60u, true, true),
            (s.Type, s.Algorithm, s.AffinityClientIp, s.AffinityTimeoutSeconds, s.ExternalTrafficLocal, s.InternalTrafficLocal));
        Assert.Equal("198.18.60.1", Assert.Single(s.LoadBalancerIps).ToString());
        Assert.Equal(("http", (ushort)0, "http", (ushort)30080), (s.Ports[0].Name, s.Ports[0].TargetPort, s.Ports[0].TargetPortName, s.Ports[0].NodePort));
        Assert.Equal(((ushort)5353, (byte)17), (s.Ports[1].TargetPort, s.Ports[1].Protocol));
        var slice = Assert.Single(model.EndpointSlices);
        Assert.Equal("web", slice.ServiceName);
        Assert.True(slice.Endpoints[0].Ready);
        Assert.Equal((false, true, true), (slice.Endpoints[1].Ready, slice.Endpoints[1].Serving, slice.Endpoints[1].Terminating));
        var egw = Assert.Single(model.EgressGatewayPolicies);
        Assert.Equal(2, egw.Gateways.Length);
        Assert.True(egw.SingleGateway);
    }

    [Theory]
    [InlineData("  type: ExternalName\n", "ExternalName is DNS-only")]
    [InlineData("  type: Mystery\n", "must be ClusterIP, NodePort or LoadBalancer")]
    [InlineData("  sessionAffinity: Cookie\n", "must be None or ClientIP")]
    [InlineData("  internalTrafficPolicy: Nearby\n", "must be Cluster or Local")]
    public void BadServiceFields(string extra, string reason) =>
        DocumentErrorTests.AssertFails($"apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec:\n  clusterIP: 198.18.50.1\n{extra}  ports: [{{port: 80}}]\n", 6, reason);

    [Theory]
    [InlineData("ports: [{port: 80, nodePort: 30001}]", 7, "nodePort is only valid for type NodePort or LoadBalancer")]
    [InlineData("ports: [{port: 80, protocol: SCTP}]", 7, "SCTP services are not supported")]
    [InlineData("ports: [{port: 70000}]", 7, "out of range 1..65535")]
    [InlineData("ports: [{port: 80, targetPort: Bad_Name}]", 7, "targetPort must be a number")]
    [InlineData("ports: [{port: 80}, {port: 81}]", 7, "every port needs a name")]
    [InlineData("ports: [{name: a, port: 80}, {name: a, port: 81}]", 7, "duplicate port name 'a'")]
    [InlineData("ports: [{name: a, port: 80}, {name: b, port: 80}]", 7, "port 80/TCP is listed twice")]
    [InlineData("ports: []", 7, "at least one port")]
    public void BadServicePorts(string ports, int line, string reason) =>
        DocumentErrorTests.AssertFails($"apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec:\n  clusterIP: 198.18.50.1\n  sessionAffinity: None\n  {ports}\n", line, reason);

    [Fact]
    public void NodePortNeedsAPortInRange()
    {
        DocumentErrorTests.AssertFails("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: NodePort\n  clusterIP: 198.18.50.1\n  ports: [{port: 80, nodePort: 8080}]\n",
            7, "out of range 30000..32767");
    }

    [Fact]
    public void ServiceWithoutClusterIpAndNoServiceCidrIsAnError() =>
        DocumentErrorTests.AssertFails("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n", 5,
            "service default/s has no spec.clusterIP and there is no ServiceCIDR (networking.k8s.io/v1) to allocate one from");

    [Fact]
    public void TwoServicesOnOneFrontendConflict() =>
        DocumentErrorTests.AssertFails("""
            apiVersion: v1
            kind: Service
            metadata: {name: a}
            spec: {clusterIP: 198.18.50.1, ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: b}
            spec:
              clusterIP: 198.18.50.2
              externalIPs: [198.18.50.1]
              ports: [{port: 80}]
            """, 12, "frontend 198.18.50.1:80/TCP is already used by service default/a");

    [Fact]
    public void TwoServicesOnOneNodePortConflict() =>
        DocumentErrorTests.AssertFails("""
            apiVersion: v1
            kind: Service
            metadata: {name: a}
            spec: {type: NodePort, clusterIP: 198.18.50.1, ports: [{port: 80, nodePort: 30000}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: b}
            spec: {type: NodePort, clusterIP: 198.18.50.2, ports: [{port: 80, nodePort: 30000}]}
            """, 9, "nodePort 30000/TCP is already used by service default/a");

    [Fact]
    public void FrontendOnANodeAddressIsRejected() =>
        DocumentErrorTests.AssertFails("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 198.18.0.11, ports: [{port: 80}]}\n",
            1, "frontend address 198.18.0.11 is an InternalIP of node node-b");

    [Theory]
    [InlineData("metadata: {name: s1}\naddressType: IPv4\n", 3, "needs the label kubernetes.io/service-name")]
    [InlineData("metadata: {name: s1, labels: {kubernetes.io/service-name: web}}\naddressType: FQDN\n", 4, "FQDN is not supported")]
    [InlineData("metadata: {name: s1, labels: {kubernetes.io/service-name: web}}\naddressType: IPv6\nendpoints: [{addresses: [198.19.1.5]}]\n", 5, "does not match addressType IPv6")]
    [InlineData("metadata: {name: s1, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nendpoints: [{addresses: [198.19.1.5], conditions: {ready: maybe}}]\n", 5, "expected true or false")]
    public void BadSlices(string body, int line, string reason) =>
        DocumentErrorTests.AssertFails("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n" + body
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 198.18.50.1, ports: [{port: 80}]}\n", line, reason);

    [Theory]
    [InlineData("  selectors: []\n  destinationCIDRs: [0.0.0.0/0]\n  egressGateway: {nodeSelector: {}}\n", 5, "at least one selector")]
    [InlineData("  selectors: [{podSelector: {}}]\n  destinationCIDRs: [10.0.0.1/8]\n  egressGateway: {nodeSelector: {}}\n", 6, "has host bits set")]
    [InlineData("  selectors: [{podSelector: {}}]\n  destinationCIDRs: [198.18.0.0/16]\n  excludedCIDRs: [203.0.113.0/24]\n  egressGateway: {nodeSelector: {}}\n", 7, "inside none of the destinationCIDRs")]
    [InlineData("  selectors: [{podSelector: {}}]\n  destinationCIDRs: [0.0.0.0/0]\n", 5, "needs egressGateway")]
    [InlineData("  selectors: [{podSelector: {}}]\n  destinationCIDRs: [0.0.0.0/0]\n  egressGateway: {nodeSelector: {}, egressIP: 198.18.0.5, interface: eth0}\n", 7, "mutually exclusive")]
    [InlineData("  selectors: [{podSelector: {}}]\n  destinationCIDRs: [0.0.0.0/0]\n  egressGateway: {nodeSelector: {}, egressIP: 198.18.0.5}\n", 7, "nodeSelector matches 2 nodes")]
    [InlineData("  selectors: [{podSelector: {}}]\n  destinationCIDRs: [0.0.0.0/0]\n  gateway: {}\n", 7, "unknown field 'gateway'")]
    public void BadEgressGatewayPolicies(string spec, int line, string reason) =>
        DocumentErrorTests.AssertFails("apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: e}\nspec:\n" + spec, line, reason);

    [Theory]
    [InlineData("masquerade: {portRange: {min: 5000, max: 4000}}", "max 4000 is below min 5000")]
    [InlineData("masquerade: {nonMasqueradeCIDRs: [nope]}", "invalid CIDR 'nope'")]
    [InlineData("masquerade: {enabled: yes}", "expected true or false")]
    [InlineData("loadBalancing: {maglevTableSize: 1000}", "must be prime")]
    [InlineData("loadBalancing: {algorithm: roundrobin}", "must be random or maglev")]
    public void BadDataplaneNodeSections(string section, string reason)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([("00-nodes.yaml", ConfigYaml.Nodes),
            ("10-local.yaml", ConfigYaml.Local.Replace("  routerMac: \"02:00:00:00:00:aa\"\n", $"  routerMac: \"02:00:00:00:00:aa\"\n  {section}\n"))]));
        Assert.Equal("10-local.yaml", e.Location.File);
        Assert.Equal(7, e.Location.Line);
        Assert.Contains(reason, e.Reason);
    }

    [Fact]
    public void AnErrorInOneServiceRejectsTheWholeConfiguration()
    {
        // A valid service beside a faulty one: nothing loads (never half-applied).
        Assert.Throws<ConfigException>(() => ConfigYaml.Load(Svc + "\n---\napiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {clusterIP: 198.18.50.77, ports: [{port: 0}]}\n"));
    }
}
