using System.Net;
using Dataplane.Core.Identity;

namespace Dataplane.Core.Tests.Policy;

public class IdentityTests
{
    [Fact]
    public void ReservedIdentitiesAreCiliums()
    {
        string?[] names = [null, "host", "world", "unmanaged", "health", "init", "remote-node", "kube-apiserver", "ingress", "world-ipv4", "world-ipv6"];
        for (uint id = 0; id <= 10; id++) Assert.Equal(names[id], NumericIdentity.ReservedName(id));
        Assert.Equal(256u, NumericIdentity.MinimalAllocation);
        Assert.Equal(1u << 24, NumericIdentity.LocalScopeFlag);
        Assert.Equal(102u, NumericIdentity.KubeDns);
    }

    [Fact]
    public void LabelSetKeyIsSortedWithTrailingSemicolons()
    {
        var set = new LabelSet([new Label("k8s", "tier", "frontend"), new Label("k8s", "app", "web"), new Label("k8s", "io.kubernetes.pod.namespace", "shop")]);
        Assert.Equal("k8s:app=web;k8s:io.kubernetes.pod.namespace=shop;k8s:tier=frontend;", set.Key);
        Assert.Equal("reserved:host=;", IdentityLabels.Reserved(NumericIdentity.Host).Key);
    }

    [Fact]
    public void PodLabelsCarryNamespaceServiceAccountClusterAndNamespaceLabels()
    {
        using var c = new PolicyCluster("");
        var web = c.Model.Pods.Single(p => p.Name == "web");
        var labels = Dataplane.Control.Compiler.PolicyCompiler.PodLabels(c.Model)[web];
        Assert.Equal(
            "k8s:app=web;k8s:io.cilium.k8s.namespace.labels.env=production;k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=prod;" +
            "k8s:io.cilium.k8s.namespace.labels.team=shop;k8s:io.cilium.k8s.policy.cluster=default;" +
            "k8s:io.cilium.k8s.policy.serviceaccount=web-sa;k8s:io.kubernetes.pod.namespace=prod;k8s:tier=frontend;", labels.Key);
    }

    [Fact]
    public void ReplicasOfOneDeploymentShareAnIdentity()
    {
        var yaml = string.Join("---\n", Enumerable.Range(0, 3).Select(i => $$"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: api-{{i}}
              namespace: prod
              labels: {app: api2, pod-template-hash: "h{{i}}", controller-revision-hash: "r{{i}}" }
            spec: {nodeName: node-b}
            status:
              podIPs:
              - ip: 10.0.2.{{100 + i}}

            """));
        using var c = new PolicyCluster(yaml);
        var ids = Enumerable.Range(0, 3).Select(i => c.Snapshot.IpCache.Lookup(IPAddress.Parse($"10.0.2.{100 + i}"))).Distinct().ToList();
        Assert.Single(ids);
        Assert.DoesNotContain("pod-template-hash", c.Snapshot.Policy.Identities.Get(ids[0])!.Labels.Key);
    }

    [Fact]
    public void AllocationIsFrom256InLabelKeyOrderWhateverTheInputOrder()
    {
        var a = new LabelSet([new Label("k8s", "app", "b")]);
        var b = new LabelSet([new Label("k8s", "app", "a")]);
        var t1 = IdentityTable.Build([a, b, a], [], dualStack: true);
        var t2 = IdentityTable.Build([b, a], [], dualStack: true);
        Assert.Equal(256u, t1.IdOf(b));
        Assert.Equal(257u, t1.IdOf(a));
        Assert.Equal(t1.IdOf(a), t2.IdOf(a));
        Assert.Equal(NumericIdentity.World, t1.IdOf(IdentityLabels.Reserved(NumericIdentity.World)));
    }

    [Fact]
    public void CidrIdentitiesHaveLocalScopeAndWorldLabel()
    {
        var t = IdentityTable.Build([], [IPNetwork.Parse("192.0.2.0/24"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("2001:db8::/32"), IPNetwork.Parse("0.0.0.0/0")], dualStack: true);
        uint ten = t.CidrIdentity(IPNetwork.Parse("10.0.0.0/8"));
        Assert.Equal(NumericIdentity.LocalScopeFlag + 1, ten);
        Assert.Equal(NumericIdentity.LocalScopeFlag + 2, t.CidrIdentity(IPNetwork.Parse("192.0.2.0/24")));
        Assert.True(NumericIdentity.IsLocalScope(t.CidrIdentity(IPNetwork.Parse("2001:db8::/32"))));
        Assert.Equal("cidr:10.0.0.0/8=;reserved:world-ipv4=;", t.Get(ten)!.Labels.Key);
        Assert.Equal("cidr:2001-db8--/32=;reserved:world-ipv6=;", t.Get(t.CidrIdentity(IPNetwork.Parse("2001:db8::/32")))!.Labels.Key);
        Assert.Equal(NumericIdentity.WorldIpv4, t.CidrIdentity(IPNetwork.Parse("0.0.0.0/0")));
        var single = IdentityTable.Build([], [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("0.0.0.0/0")], dualStack: false);
        Assert.Equal("cidr:10.0.0.0/8=;reserved:world=;", single.Get(single.CidrIdentity(IPNetwork.Parse("10.0.0.0/8")))!.Labels.Key);
        Assert.Equal(NumericIdentity.World, single.CidrIdentity(IPNetwork.Parse("0.0.0.0/0")));
    }

    [Fact]
    public void PinnedPodIdentitiesKeepTheirKvstoreNumberAndClusterLabels()
    {
        var web = new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", IdentityLabels.ClusterLabel, IdentityLabels.DefaultCluster)]);
        var db = new LabelSet([new Label("k8s", "app", "db")]);
        var inC1 = new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", IdentityLabels.ClusterLabel, "c1")]);
        var remote = new SecurityIdentity((2u << 16) + 7, new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", IdentityLabels.ClusterLabel, "c2")]));
        var pinned = new Dictionary<string, SecurityIdentity>
        {
            [web.Key] = new((1u << 16) + 5, inC1),
            // Inside the local range: not the kvstore's to give, so ignored and numbered locally.
            [db.Key] = new(300, db),
        };
        var t = IdentityTable.Build([web, db], [], dualStack: false, [remote], pinned);
        Assert.Equal((1u << 16) + 5, t.IdOf(web));
        Assert.Equal((1u << 16) + 5, t.IdOf(inC1));
        Assert.Equal("c1", t.Get((1u << 16) + 5)!.Labels.Labels.Single(l => l.Key == IdentityLabels.ClusterLabel).Value);
        Assert.Equal(256u, t.IdOf(db));
        Assert.Equal(remote.Id, t.IdOf(remote.Labels));
        Assert.DoesNotContain(t.All, i => i.Labels.Key == web.Key && i.Id < (1u << 16));
    }

    [Theory]
    [InlineData(true, false, 9u)]
    [InlineData(true, true, 10u)]
    [InlineData(false, false, 2u)]
    [InlineData(false, true, 2u)]
    public void WorldIdentityDependsOnDualStack(bool dual, bool v6, uint expected) =>
        Assert.Equal(expected, IdentityLabels.WorldIdentity(v6, dual));
}
