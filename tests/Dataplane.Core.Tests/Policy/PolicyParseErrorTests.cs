using Dataplane.Control.Config;
using Dataplane.Core.Tests.Config;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// Invalid or unsupported policy is rejected with the file, line and reason — and, because loading is
/// all-or-nothing, the whole configuration (including its valid policies) is rejected with it.
/// </summary>
public class PolicyParseErrorTests
{
    private const string Head = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: prod}\n";

    [Theory]
    // L7 and FQDN rules are not silently ignored.
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        kafka: [{topic: a}]\n",
        10, "L7 rules 'kafka' are not supported yet")]
    // HTTP rules are read strictly: a bad regular expression, an unknown field, L7 in a deny rule.
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        http: [{path: \"/a(\"}]\n",
        10, "invalid regular expression '/a('")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        http: [{verb: GET}]\n",
        10, "unknown field 'verb'")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingressDeny:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        http: [{method: GET}]\n",
        10, "L7 rules are not allowed in deny rules")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n        http: [{headerMatches: [{name: X, mismatch: DROP}]}]\n",
        10, "mismatch must be LOG, ADD, DELETE or REPLACE")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  egress:\n  - toPorts:\n    - ports: [{port: \"53\", protocol: UDP}]\n      rules:\n        dns: [{matchName: \"a b\"}]\n",
        10, "'a b' is not a DNS name")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  egress:\n  - toPorts:\n    - ports: [{port: \"53\", protocol: UDP}]\n      rules:\n        dns: [{matchName: a.com, matchPattern: \"*\"}]\n",
        10, "exactly one of matchName or matchPattern is required")]
    // toFQDNs: egress allow rules only, never beside another L3 peer (Cilium's sanitize), valid names.
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  egressDeny:\n  - toFQDNs:\n    - matchName: example.com\n",
        7, "unknown field 'toFQDNs'")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  egress:\n  - toCIDR: [203.0.113.0/24]\n    toFQDNs:\n    - matchName: example.com\n",
        9, "combining toFQDNs and toCIDR is not supported yet")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  egress:\n  - toFQDNs:\n    - matchPattern: \"*.exa mple.com\"\n",
        8, "is not a DNS name pattern")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  egress:\n  - toGroups: [{aws: {securityGroupsIds: [sg-1]}}]\n",
        7, "'toGroups' is not supported yet")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toServices: [{k8sService: {serviceName: a, namespace: b}}]\n",
        7, "unknown field 'toServices'")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: Http_1}]\n",
        8, "invalid port 'Http_1' (expected 0..65535 or a port name")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: http, endPort: 90}]\n",
        8, "endPort needs a numeric port")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: http, protocol: ICMP}]\n",
        8, "named port 'http' needs a port protocol, not ICMP")]
    // Shape and value errors.
    [InlineData(Head + "spec:\n  ingress: [{}]\n", 5, "exactly one of endpointSelector or nodeSelector is required")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - fromEntities: [wrld]\n", 7, "unknown entity 'wrld'")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  egress:\n  - toEntities: [world-ipv4]\n", 7, "unknown entity 'world-ipv4'")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - fromCIDR: [10.0.0.1/8]\n", 7, "has host bits set")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - fromCIDRSet: [{cidr: 10.0.0.0/8, except: [192.168.0.0/16]}]\n",
        7, "except 192.168.0.0/16 is not inside 10.0.0.0/8")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"90\", endPort: 80}]\n",
        8, "endPort 80 is below port 90")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports: [{port: \"80\", protocol: HTTP}]\n",
        8, "unknown protocol 'HTTP'")]
    [InlineData(Head + "spec:\n  endpointSelector:\n    matchExpressions: [{key: app, operator: Is, values: [a]}]\n  ingress: [{}]\n",
        6, "unknown operator 'Is'")]
    [InlineData(Head + "spec:\n  endpointSelector:\n    matchExpressions: [{key: app, operator: In}]\n  ingress: [{}]\n",
        6, "operator In needs at least one value")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingres: [{}]\n", 6, "unknown field 'ingres'")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoint: [{}]\n", 7, "unknown field 'fromEndpoint'")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  ingressDeny:\n  - fromRequires: [{matchLabels: {a: b}}]\n",
        7, "fromRequires is not allowed in deny rules")]
    [InlineData(Head + "spec:\n  endpointSelector: {}\n  enableDefaultDeny: {ingress: maybe}\n", 6, "expected true or false")]
    [InlineData(Head + "spec:\n  nodeSelector: {}\n  ingress: [{}]\n", 5, "nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy")]
    // Host policies (nodeSelector) are read as strictly as endpoint policies.
    [InlineData("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: host}\nspec:\n  nodeSelector:\n    matchExpressions: [{key: role, operator: Is, values: [a]}]\n  ingress: [{}]\n",
        6, "unknown operator 'Is'")]
    [InlineData("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: host}\nspec:\n  nodeSelector: {}\n  ingress:\n  - fromEntities: [hosts]\n",
        7, "unknown entity 'hosts'")]
    [InlineData("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: host}\nspec:\n  nodeSelector: {}\n  endpointSelector: {}\n  ingress: [{}]\n",
        5, "exactly one of endpointSelector or nodeSelector is required")]
    [InlineData(Head + "metadata2: {}\n", 1, "needs spec or specs")]
    [InlineData("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: prod}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 80, protocol: ICMP}]\n",
        7, "protocol must be TCP, UDP or SCTP")]
    [InlineData("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: prod}\nspec:\n  podSelector: {}\n  policyTypes: [Both]\n",
        6, "policy type must be Ingress or Egress")]
    public void RejectedAtLine(string yaml, int line, string reason) =>
        DocumentErrorTests.AssertFails(yaml, line, reason);

    [Fact]
    public void OneBadPolicyRejectsTheWholeConfiguration()
    {
        var good = Head + "spec:\n  endpointSelector: {}\n  ingress: [{}]\n";
        var bad = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: bad}\nspec:\n  endpointSelector: {}\n  egress:\n  - toGroups: [{aws: {securityGroupsIds: [sg-1]}}]\n";
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([
            ("00-nodes.yaml", ConfigYaml.Nodes), ("10-local.yaml", ConfigYaml.Local), ("20-good.yaml", good), ("30-bad.yaml", bad)]));
        Assert.Equal("30-bad.yaml", e.Location.File);
        Assert.Equal(7, e.Location.Line);
        Assert.Contains("not supported yet", e.Message);
    }

    [Fact]
    public void DuplicatePolicyNamesInOneNamespaceAreRejected()
    {
        var p = Head + "spec:\n  endpointSelector: {}\n  ingress: [{}]\n";
        var e = Assert.Throws<ConfigException>(() => ConfigYaml.Load(p + "---\n" + p));
        Assert.Contains("duplicate CiliumNetworkPolicy prod/p", e.Message);
    }
}
