using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using static Dataplane.Testing.Fixtures.ServiceYaml;

namespace Dataplane.Core.Tests.Services;

/// <summary>
/// Service × policy, as in Cilium with kube-proxy replacement: the service is translated before policy, so
/// both the client's egress and the backend's ingress policy see the backend (its identity and its port), never
/// the VIP; replies of an allowed connection pass.
/// </summary>
public sealed class ServicePolicyTests
{
    private static string LocalWeb => Docs(Service("web", "  clusterIP: 198.18.50.10\n  ports: [{name: http, port: 80}]"),
        WebSlice("web", web3: "{ready: false}"));

    private static string Cnp(string name, string selector, string body) => $"---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: prod}}\nspec:\n  endpointSelector: {{matchLabels: {selector}}}\n{body}";

    [Fact]
    public void BackendIngressPolicyIsCheckedAgainstTheBackendPortAndTheClientIdentity()
    {
        var allow8080 = Cnp("web-in", "{app: web}", "  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]");
        using var c = new ServiceCluster(LocalWeb + "\n" + allow8080);
        var (m, o) = c.Send("prod/client", "198.18.50.10", 80, 40001);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        // The reply passes through conntrack and is reverse-translated.
        string back = o!.Dst == "10.0.1.10" ? "prod/web-1" : "prod/web-2";
        var (rm, r) = c.Send(back, "10.0.1.30", 40001, 8080, tcpFlags: 0x12);
        Assert.Equal(PacketVerdict.Tx, rm.Verdict);
        Assert.Equal("198.18.50.10", r!.Src);
        // A pod of another namespace is not allowed in: dropped on the backend's ingress side.
        var (denied, _) = c.Send("dev/other", "198.18.50.10", 80, 40002);
        Assert.Equal(DropReason.PolicyDenied, denied.DropReason);
        Assert.Equal(TrafficDirection.Ingress, denied.Direction);
    }

    [Fact]
    public void PolicyOnTheServicePortDoesNotAllowTheBackendPort()
    {
        var allow80 = Cnp("web-in", "{app: web}", "  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]");
        using var c = new ServiceCluster(LocalWeb + "\n" + allow80);
        Assert.Equal(DropReason.PolicyDenied, c.Send("prod/client", "198.18.50.10", 80).Meta.DropReason);
    }

    [Fact]
    public void ClientEgressPolicySeesTheBackendNotTheVip()
    {
        var toWeb = Cnp("client-out", "{app: client}", "  egress:\n  - toEndpoints: [{matchLabels: {app: web}}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]");
        using var c = new ServiceCluster(LocalWeb + "\n" + toWeb);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/client", "198.18.50.10", 80).Meta.Verdict);

        var toVip = Cnp("client-out", "{app: client}", "  egress:\n  - toCIDR: [198.18.50.10/32]");
        c.Swap(LocalWeb + "\n" + toVip);
        var (m, _) = c.Send("prod/client", "198.18.50.10", 80, 40100);
        Assert.Equal(DropReason.PolicyDenied, m.DropReason);
        Assert.Equal(TrafficDirection.Egress, m.Direction);
    }

    [Fact]
    public void ExplicitDenyOnTheBackendDropsServiceTraffic181()
    {
        var deny = Cnp("web-deny", "{app: web}", "  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: client}}]");
        using var c = new ServiceCluster(LocalWeb + "\n" + deny);
        Assert.Equal(DropReason.PolicyDeny, c.Send("prod/client", "198.18.50.10", 80).Meta.DropReason);
        // A dropped connection was never created: nothing to reverse-translate later.
        Assert.Equal(0, c.Context.Conntrack!.Count);
    }
}
