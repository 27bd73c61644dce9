using Dataplane.Control.Config;
using Dataplane.Control.Compiler;

namespace Dataplane.Core.Tests.Overlay;

/// <summary>Overlay configuration mistakes are ConfigExceptions at the offending line, and nothing compiles.</summary>
public class OverlayConfigTests
{
    private static void Fails(string yaml, string reason, int? line = null)
    {
        var e = Assert.Throws<ConfigException>(() => SnapshotCompiler.Compile(ConfigLoader.Load([("node.yaml", yaml)])));
        Assert.Contains(reason, e.Message);
        Assert.StartsWith("node.yaml:", e.Message);
        if (line is int l) Assert.Contains($"node.yaml:{l}:", e.Message);
    }

    private static int LineOf(string yaml, string text) =>
        yaml.Split('\n').Select((l, i) => (l, i)).First(x => x.l.Contains(text, StringComparison.Ordinal)).i + 1;

    [Fact]
    public void ValidConfigCompiles() => Assert.NotNull(SnapshotCompiler.Compile(ConfigLoader.Load([("node.yaml", OverlayNode.Yaml())])));

    [Fact]
    public void UnknownBehavior()
    {
        var y = OverlayNode.Yaml(overlay: "    - {sid: \"2001:db8:a::9\", behavior: End.B6}");
        Fails(y, "unsupported behavior 'End.B6'", LineOf(y, "End.B6"));
    }

    [Fact]
    public void UnknownModeAnnotation()
    {
        var y = OverlayNode.Yaml(nodeBAnnotations: "dataplane.io/tunnel: gre");
        Fails(y, "must be native, vxlan or srv6, got 'gre'", LineOf(y, "tunnel: gre"));
    }

    [Fact]
    public void PeerNamingAMissingNode()
    {
        var y = OverlayNode.Yaml(overlay: "    peers:\n    - {node: node-z, mode: vxlan}");
        Fails(y, "overlay peer node-z names a Node that does not exist", LineOf(y, "node-z"));
    }

    [Fact]
    public void Srv6NodeWithoutSid()
    {
        var y = OverlayNode.Yaml(nodeBAnnotations: "dataplane.io/tunnel: srv6");
        Fails(y, "node node-b is reached over SRv6 but has no SID");
    }

    [Fact]
    public void UnreachableSid()
    {
        var y = OverlayNode.Yaml(nodeBAnnotations: "{dataplane.io/tunnel: srv6, dataplane.io/srv6-sid4: \"2001:db8:77::4\"}");
        Fails(y, "first SID 2001:db8:77::4 is not on a connected subnet nor behind a route");
    }

    [Fact]
    public void EndXWithoutNexthop()
    {
        var y = OverlayNode.Yaml(overlay: "    - {sid: \"2001:db8:a::9\", behavior: End.X}");
        Fails(y, "End.X needs 'nexthop'", LineOf(y, "a::9"));
    }

    [Fact]
    public void SidThatIsAnInterfaceAddress()
    {
        var y = OverlayNode.Yaml(overlay: "    - {sid: \"2001:db8:0:1::1\", behavior: End.DT4}");
        Fails(y, "SID 2001:db8:0:1::1 is an address of interface eth0", LineOf(y, "0:1::1\", behavior"));
    }

    [Fact]
    public void SourceThatIsNotOurs()
    {
        var y = OverlayNode.Yaml(overlay: "    source4: 198.18.0.9");
        Fails(y, "198.18.0.9 is not an address of any interface of this node", LineOf(y, "source4"));
    }

    private const string Vrf = """
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumSRv6VRF
        metadata: {name: vrf1}
        spec:
          vrfID: 1
          rules:
          - selectors: [{endpointSelector: {}}]
            destinationCIDRs: ["198.19.0.0/16"]
        """;

    [Fact]
    public void EgressPolicyWithoutItsVrf()
    {
        var y = OverlayNode.Yaml(extra: Vrf + "\n---\napiVersion: cilium.io/v2alpha1\nkind: CiliumSRv6EgressPolicy\nmetadata: {name: p}\nspec:\n  vrfID: 7\n  destinationCIDRs: [\"198.19.1.0/24\"]\n  destinationSID: \"2001:db8:b::1\"\n");
        Fails(y, "CiliumSRv6EgressPolicy p: no CiliumSRv6VRF has vrfID 7", LineOf(y, "vrfID: 7"));
    }

    [Fact]
    public void EgressPolicyOutsideItsVrf()
    {
        var y = OverlayNode.Yaml(extra: Vrf + "\n---\napiVersion: cilium.io/v2alpha1\nkind: CiliumSRv6EgressPolicy\nmetadata: {name: p}\nspec:\n  vrfID: 1\n  destinationCIDRs: [\"198.20.1.0/24\"]\n  destinationSID: \"2001:db8:b::1\"\n");
        Fails(y, "198.20.1.0/24 is outside the destinationCIDRs of CiliumSRv6VRF vrf1", LineOf(y, "198.20.1.0/24"));
    }

    [Fact]
    public void EgressPolicySidMustBeIpv6()
    {
        var y = OverlayNode.Yaml(extra: Vrf + "\n---\napiVersion: cilium.io/v2alpha1\nkind: CiliumSRv6EgressPolicy\nmetadata: {name: p}\nspec:\n  vrfID: 1\n  destinationCIDRs: [\"198.19.1.0/24\"]\n  destinationSID: 198.18.0.2\n");
        Fails(y, "198.18.0.2 is not an IPv6 address", LineOf(y, "destinationSID"));
    }

    [Fact]
    public void EndpointPeerNeedsInnerMacAndPrefixes()
    {
        var y = OverlayNode.Yaml(overlay: "    peers:\n    - {endpoint: 198.18.0.2, mode: vxlan, prefixes: [\"198.18.60.0/24\"]}");
        Fails(y, "needs 'innerMac'", LineOf(y, "endpoint: 198.18.0.2"));
    }

    [Fact]
    public void VxlanPortRange()
    {
        var y = OverlayNode.Yaml(overlay: "    vxlanPort: 70000");
        Fails(y, "70000 is out of range 1..65535", LineOf(y, "vxlanPort"));
    }
}
