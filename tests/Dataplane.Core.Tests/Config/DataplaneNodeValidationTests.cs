using static Dataplane.Core.Tests.Config.DocumentErrorTests;

namespace Dataplane.Core.Tests.Config;

/// <summary>Rules inside a DataplaneNode document. The spec body starts on line 6.</summary>
public class DataplaneNodeValidationTests
{
    private const string Header = "apiVersion: dataplane.io/v1alpha1\nkind: DataplaneNode\nmetadata:\n  name: node-a\nspec:\n";

    /// <summary>Two interfaces on lines 7-10 and 11-13 that the cases below build on.</summary>
    private const string Ifs = """
          interfaces:
          - name: eth0
            mac: "02:00:00:00:00:01"
            addresses: ["198.18.0.10/24", "2001:db8:1::10/64"]
            mtu: 1500
          - name: eth1
            mac: "02:00:00:00:00:02"
            addresses: ["198.18.1.1/24"]

        """;

    private static void Fails(string spec, int line, string reason) => AssertFails(Header + spec, line, reason, withLocal: false);

    [Theory]
    // interfaces
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n  - name: eth0\n    mac: 02:00:00:00:00:02\n",
        9, "duplicate interface name 'eth0' (first defined at 50-test.yaml:7:11)")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n  - name: eth1\n    mac: 02-00-00-00-00-01\n",
        10, "spec.interfaces[1].mac: MAC address 02:00:00:00:00:01 is already used by interface eth0 (at 50-test.yaml:8:10)")]
    [InlineData("  routerMac: 02:00:00:00:00:01\n  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n",
        9, "is already used by the router MAC (at 50-test.yaml:6:14)")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 01:00:5e:00:00:01\n", 8, "MAC address 01:00:5e:00:00:01 is multicast")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 00:00:00:00:00:00\n", 8, "MAC address 00:00:00:00:00:00 is zero")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:0g\n", 8, "invalid MAC address '02:00:00:00:00:0g'")]
    [InlineData("  routerMac: ff:ff:ff:ff:ff:ff\n", 6, "spec.routerMac: MAC address ff:ff:ff:ff:ff:ff is multicast")]
    [InlineData("  interfaces:\n  - name: eth0\n", 7, "missing required field 'spec.interfaces[0].mac'")]
    [InlineData("  interfaces:\n  - name: a-name-too-long-x\n    mac: 02:00:00:00:00:01\n", 7, "invalid interface name 'a-name-too-long-x'")]
    [InlineData("  interfaces:\n  - name: eth0/1\n    mac: 02:00:00:00:00:01\n", 7, "invalid interface name")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n    mtu: 67\n", 9, "spec.interfaces[0].mtu: 67 is out of range 68..65535")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n    mtu: 65536\n", 9, "65536 is out of range 68..65535")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n    mtu: jumbo\n", 9, "expected an integer, got 'jumbo'")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n    addresses: [\"2001:db8:1::1/64\"]\n    mtu: 1000\n",
        10, "mtu 1000 is below the IPv6 minimum of 1280")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n    addresses: [198.18.0.1]\n",
        9, "invalid interface address '198.18.0.1' (expected address/prefix-length)")]
    [InlineData(Ifs + "  - name: eth2\n    mac: 02:00:00:00:00:03\n    addresses: [198.18.1.1/30]\n",
        16, "address 198.18.1.1 is already assigned to interface eth1")]
    [InlineData("  interfaces:\n  - name: eth0\n    mac: 02:00:00:00:00:01\n    adresses: [198.18.0.1/24]\n",
        9, "unknown field 'adresses' (expected one of: name, mac, addresses, mtu)")]
    [InlineData("  interface: []\n", 6, "unknown field 'interface'")]
    public void Interfaces(string spec, int line, string reason) => Fails(spec, line, reason);

    [Theory]
    [InlineData(Ifs + "  neighbors:\n  - ip: 198.18.0.1\n    mac: 02:00:00:00:00:0b\n    interface: eth9\n",
        17, "spec.neighbors[0].interface: unknown interface 'eth9'")]
    [InlineData(Ifs + "  neighbors:\n  - ip: 198.18.7.1\n    mac: 02:00:00:00:00:0b\n",
        15, "no interface has a subnet containing neighbor 198.18.7.1; set 'interface'")]
    [InlineData(Ifs + "  - name: eth2\n    mac: 02:00:00:00:00:03\n    addresses: [198.18.0.129/25]\n"
                + "  neighbors:\n  - ip: 198.18.0.200\n    mac: 02:00:00:00:00:0b\n",
        18, "neighbor 198.18.0.200 is in the subnets of several interfaces (eth0, eth2); set 'interface'")]
    [InlineData(Ifs + "  neighbors:\n  - ip: 198.18.0.1\n    mac: 02:00:00:00:00:0b\n  - ip: 198.18.0.1\n    mac: 02:00:00:00:00:0c\n    interface: eth0\n",
        17, "duplicate neighbor 198.18.0.1 on interface eth0 (first defined at 50-test.yaml:15:9)")]
    [InlineData(Ifs + "  neighbors:\n  - ip: 198.18.1.1\n    mac: 02:00:00:00:00:0b\n",
        15, "neighbor 198.18.1.1 is one of this node's own interface addresses")]
    [InlineData(Ifs + "  neighbors:\n  - ip: 198.18.0.1\n    mac: 00:00:00:00:00:00\n",
        16, "spec.neighbors[0].mac: MAC address 00:00:00:00:00:00 is zero")]
    [InlineData(Ifs + "  neighbors:\n  - ip: 198.18.0.1\n", 15, "missing required field 'spec.neighbors[0].mac'")]
    public void Neighbors(string spec, int line, string reason) => Fails(spec, line, reason);

    private const string Neigh = Ifs + "  neighbors:\n  - ip: 198.18.0.1\n    mac: 02:00:00:00:00:0b\n";   // lines 14-16

    [Theory]
    [InlineData(Neigh + "  routes:\n  - destination: 0.0.0.0/0\n    via: 198.18.9.1\n",
        19, "gateway 198.18.9.1 is not inside any connected interface subnet")]
    [InlineData(Neigh + "  routes:\n  - destination: 0.0.0.0/0\n    via: 198.18.0.1\n    interface: eth1\n",
        19, "gateway 198.18.0.1 is not inside a connected subnet of interface eth1")]
    [InlineData(Neigh + "  routes:\n  - destination: \"::/0\"\n    via: 2001:db8:9::1\n",
        19, "gateway 2001:db8:9::1 is not inside any connected interface subnet")]
    [InlineData(Neigh + "  routes:\n  - destination: 198.18.64.0/18\n    interface: eth7\n",
        19, "spec.routes[0].interface: unknown interface 'eth7'")]
    [InlineData(Neigh + "  routes:\n  - destination: 198.18.64.0/18\n    via: 198.18.0.1\n  - destination: 198.18.64.0/18\n    interface: eth1\n",
        20, "duplicate route to 198.18.64.0/18 (first defined at 50-test.yaml:18:18)")]
    [InlineData(Neigh + "  routes:\n  - destination: 198.18.64.1/18\n    via: 198.18.0.1\n",
        18, "CIDR '198.18.64.1/18' has host bits set (did you mean 198.18.64.0/18?)")]
    [InlineData(Neigh + "  routes:\n  - destination: 198.18.64.0/18\n",
        18, "route needs 'via', 'interface' or both")]
    [InlineData(Neigh + "  routes:\n  - destination: \"2001:db8:99::/48\"\n    via: 198.18.0.1\n",
        19, "gateway 198.18.0.1 is not the same address family as destination 2001:db8:99::/48")]
    [InlineData(Neigh + "  routes:\n  - destination: nowhere\n    interface: eth0\n",
        18, "invalid CIDR 'nowhere'")]
    [InlineData(Neigh + "  routes:\n  - destination: 198.18.64.0/18\n    gateway: 198.18.0.1\n",
        19, "unknown field 'gateway' (expected one of: destination, via, interface)")]
    public void Routes(string spec, int line, string reason) => Fails(spec, line, reason);
}
