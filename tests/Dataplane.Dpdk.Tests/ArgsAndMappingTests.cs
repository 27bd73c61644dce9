using Dataplane.Dpdk.Eal;

namespace Dataplane.Dpdk.Tests;

/// <summary>EAL argument handling and the interface → DPDK port mapping, before any EAL exists (no root needed).</summary>
public sealed class ArgsAndMappingTests
{
    [Fact]
    public void SplitHonoursQuotesAndRejectsAnOpenOne()
    {
        Assert.Equal(["--vdev", "net_tap0,iface=a b", "-l", "1"], EalArgs.Split("  --vdev 'net_tap0,iface=a b'   -l \"1\" "));
        Assert.Empty(EalArgs.Split("   "));
        var e = Assert.Throws<DpdkException>(() => EalArgs.Split("--vdev 'net_tap0"));
        Assert.Contains("unterminated", e.Message);
    }

    [Fact]
    public void DefaultsNoHugeWithoutHugepagesHugepagesWhenFreeUserChoicesKept()
    {
        var none = EalArgs.WithDefaults(["--vdev", "net_null0"], hugepagesFree: 0, firstCpu: 1, pid: 42);
        Assert.Equal(["--vdev", "net_null0", "--no-huge", "-m", "256", "--file-prefix=dataplane-42", "-l", "1", "--no-pci", "--no-telemetry"], none);

        var huge = EalArgs.WithDefaults([], hugepagesFree: 512, firstCpu: 0, pid: 7);
        Assert.DoesNotContain("--no-huge", huge);
        Assert.DoesNotContain("-m", huge);

        var user = EalArgs.WithDefaults(["--no-huge", "-m1024", "--file-prefix=x", "--lcores", "0@1", "-a", "0000:03:00.0", "--telemetry"], 0, 0, 1);
        Assert.Equal(["--no-huge", "-m1024", "--file-prefix=x", "--lcores", "0@1", "-a", "0000:03:00.0", "--telemetry"], user);
    }

    [Fact]
    public void RuntimeDirFollowsTheFilePrefix()
    {
        Assert.EndsWith("/dpdk/abc", DpdkEal.ExpectedRuntimeDir(["--file-prefix", "abc"]));
        Assert.EndsWith("/dpdk/def", DpdkEal.ExpectedRuntimeDir(["--file-prefix=def"]));
        Assert.EndsWith("/dpdk/rte", DpdkEal.ExpectedRuntimeDir([]));
    }

    [Fact]
    public void MappingIfaceVdevDeviceNameThenAutomaticAfPacket()
    {
        string[] user = ["--vdev", "net_af_xdp0,iface=eth1", "--vdev=net_memif0,role=server", "-a", "0000:03:00.0"];
        string[] ifaces = ["eth1", "net_memif0", "0000:03:00.0", "lxc1", "gone"];
        var (args, map) = DpdkSession.Plan(user, ifaces, 2, name => name is "eth1" or "lxc1");
        Assert.Equal("net_af_xdp0", map["eth1"]);
        Assert.Equal("net_af_packet_lxc1", map["lxc1"]);
        Assert.False(map.ContainsKey("net_memif0")); // found by device name after init
        Assert.False(map.ContainsKey("gone"));       // no vdev, no Linux interface: not served
        Assert.Equal([.. user, "--vdev", "net_af_packet_lxc1,iface=lxc1,qpairs=2"], args);
    }

    [Fact]
    public void PoolSizeCoversEveryRingAsTwoToTheKMinusOne()
    {
        Assert.Equal(8191u, DpdkSession.PoolSize(2, 1));
        Assert.Equal(4095u, DpdkSession.PoolSize(1, 1));
        Assert.Equal(16383u, DpdkSession.PoolSize(2, 2));
    }
}
