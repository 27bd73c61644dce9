using System.Net;
using Dataplane.Cni.Cni;
using Dataplane.Cni.Ipam;

namespace Dataplane.Cni.Tests;

/// <summary>The allocator's promises: distinct addresses, the same ones for a retried ADD, state that survives the process, round robin, a clear error when full, mutual exclusion.</summary>
public sealed class HostLocalIpamTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"dpt-ipam-{Guid.NewGuid():N}");
    private static readonly IPNetwork Net24 = IPNetwork.Parse("198.18.64.0/24");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private HostLocalIpam Open() => new(_dir, "pods", Wait);

    [Fact]
    public void AllocatesDistinctAddressesAfterTheGatewayAndRepeatsThemForARetriedAdd()
    {
        var ipam = Open();
        var a = ipam.Allocate([Net24], "c1", "eth0").Single();
        var b = ipam.Allocate([Net24], "c2", "eth0").Single();
        var a2 = ipam.Allocate([Net24], "c1", "eth0").Single();
        Assert.Equal(IPAddress.Parse("198.18.64.2"), a.Address);
        Assert.Equal(IPAddress.Parse("198.18.64.3"), b.Address);
        Assert.Equal(a, a2);
        Assert.Equal(IPAddress.Parse("198.18.64.1"), a.Gateway);
        // Another interface of the same container is another attachment.
        Assert.Equal(IPAddress.Parse("198.18.64.4"), ipam.Allocate([Net24], "c1", "eth1").Single().Address);
    }

    /// <summary>Issue 23 item 7: the leases name every pod's address — owner only (they were 0644).</summary>
    [Fact]
    public void LeaseFilesAreOwnerOnly()
    {
        var ipam = Open();
        var a = ipam.Allocate([Net24], "c1", "eth0").Single();
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("file modes are checked on Linux");
        string lease = Path.Combine(_dir, "pods", a.Address.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(lease));
        foreach (var f in Directory.GetFiles(Path.Combine(_dir, "pods")).Where(f => !f.EndsWith("lock", StringComparison.Ordinal)))
            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(f) & (UnixFileMode.OtherRead | UnixFileMode.GroupRead));
    }

    [Fact]
    public void StateSurvivesTheProcessAndReleasedAddressesAreNotReusedAtOnce()
    {
        IPAddress first, second;
        var ipam = Open();
        first = ipam.Allocate([Net24], "c1", "eth0").Single().Address;
        second = ipam.Allocate([Net24], "c2", "eth0").Single().Address;
        var again = Open();   // another process's view of the same store
        Assert.Equal(first, again.Find([Net24], "c1", "eth0").Single().Address);
        var third = again.Allocate([Net24], "c3", "eth0").Single().Address;
        Assert.DoesNotContain(third, new[] { first, second });
        Assert.True(again.Release("c1", "eth0"));
        Assert.False(again.Release("c1", "eth0"));
        Assert.Empty(again.Find([Net24], "c1", "eth0"));
        // Round robin: the next allocation moves on instead of handing c1's address to a new pod at once.
        Assert.NotEqual(first, again.Allocate([Net24], "c4", "eth0").Single().Address);
    }

    [Fact]
    public void AFullSubnetIsAnErrorAndFreeingOneAddressMakesRoom()
    {
        var net = IPNetwork.Parse("198.18.64.0/29");   // .0 network, .1 gateway, .7 broadcast: .2-.6 usable
        var ipam = Open();
        var got = Enumerable.Range(0, 5).Select(i => ipam.Allocate([net], $"c{i}", "eth0").Single().Address.ToString()).ToList();
        Assert.Equal(["198.18.64.2", "198.18.64.3", "198.18.64.4", "198.18.64.5", "198.18.64.6"], got);
        var full = Assert.Throws<CniException>(() => ipam.Allocate([net], "c5", "eth0"));
        Assert.Equal(CniCode.AddressesExhausted, full.Code);
        Assert.Contains("198.18.64.0/29", full.Message);
        ipam.Release("c2", "eth0");
        Assert.Equal(IPAddress.Parse("198.18.64.4"), ipam.Allocate([net], "c5", "eth0").Single().Address);
    }

    [Fact]
    public void DualStackGetsOneAddressPerSubnet()
    {
        var v6 = IPNetwork.Parse("fd00:18::/120");
        var ipam = Open();
        var both = ipam.Allocate([Net24, v6], "c1", "eth0");
        Assert.Equal(2, both.Count);
        Assert.Equal(IPAddress.Parse("fd00:18::2"), both[1].Address);
        Assert.Equal(IPAddress.Parse("fd00:18::1"), both[1].Gateway);
    }

    [Fact]
    public void ConcurrentAllocationsNeverShareAnAddressAndABusyLockIsTryAgainLater()
    {
        var results = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 40, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var ipam = Open();
            results.Add(ipam.Allocate([Net24], $"c{i}", "eth0").Single().Address.ToString());
        });
        Assert.Equal(40, results.Distinct().Count());

        // Another process in the middle of an allocation holds the store's lock: this one waits, then answers 11.
        var ipam = new HostLocalIpam(_dir, "pods", TimeSpan.FromMilliseconds(100));
        using (new FileStream(ipam.LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var busy = Assert.Throws<CniException>(() => ipam.Allocate([Net24], "late", "eth0"));
            Assert.Equal(CniCode.TryAgainLater, busy.Code);
        }
        // Between operations nobody holds it: the lock covers one allocation, not the object's life.
        Assert.Single(ipam.Allocate([Net24], "late", "eth0"));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
