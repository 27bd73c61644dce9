using System.Net;
using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;

namespace Dataplane.Core.Tests.Policy;

public class IpCacheTests
{
    [Fact]
    public void CompiledClusterResolvesPodsNodesAndWorld()
    {
        using var c = new PolicyCluster(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: prod}\nspec:\n  endpointSelector: {}\n  egress: [{toCIDR: [192.0.2.0/24, 192.0.2.0/25]}]\n");
        var ipc = c.Snapshot.IpCache;
        var ids = c.Snapshot.Policy.Identities;
        uint web = ipc.Lookup(IPAddress.Parse("10.0.1.10"));
        Assert.True(web >= 256);
        Assert.Equal(web, ipc.Lookup(IPAddress.Parse("fd00:1::10")));
        Assert.Equal(web, c.Snapshot.Endpoints.First(e => e?.Name == "web")!.Identity);
        Assert.Equal("web", ids.Get(web)!.Labels.Labels.Single(l => l.Key == "app").Value);
        Assert.Equal(NumericIdentity.Host, ipc.Lookup(IPAddress.Parse("198.18.0.1")));
        Assert.Equal(NumericIdentity.RemoteNode, ipc.Lookup(IPAddress.Parse("198.18.0.2")));
        Assert.Equal(NumericIdentity.RemoteNode, ipc.Lookup(IPAddress.Parse("2001:db8:0:1::2")));
        Assert.Equal(NumericIdentity.WorldIpv4, ipc.Lookup(IPAddress.Parse("8.8.8.8")));
        Assert.Equal(NumericIdentity.WorldIpv6, ipc.Lookup(IPAddress.Parse("2001:db8:ffff::1")));
        // Longest prefix wins among policy CIDRs.
        Assert.Equal(ids.CidrIdentity(IPNetwork.Parse("192.0.2.0/25")), ipc.Lookup(IPAddress.Parse("192.0.2.1")));
        Assert.Equal(ids.CidrIdentity(IPNetwork.Parse("192.0.2.0/24")), ipc.Lookup(IPAddress.Parse("192.0.2.200")));
        // Host IP of the owning node.
        Assert.Equal(IPAddress.Parse("198.18.0.2"), ipc.HostIpOf(IPAddress.Parse("10.0.2.10")));
        Assert.Equal(IPAddress.Parse("2001:db8:0:1::2"), ipc.HostIpOf(IPAddress.Parse("fd00:2::10")));
        Assert.Equal(IPAddress.Parse("198.18.0.1"), ipc.HostIpOf(IPAddress.Parse("10.0.1.10")));
        Assert.Null(ipc.HostIpOf(IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void MatchesAReferenceLongestPrefixMatch()
    {
        var rng = new Random(7);
        var entries = new List<IpCacheEntry>();
        for (int i = 0; i < 2000; i++)
        {
            int len = rng.Next(0, 5) switch { 0 => 8, 1 => 16, 2 => 24, 3 => 32, _ => rng.Next(1, 33) };
            var addr = new IPAddress(BitConverter.GetBytes(rng.Next()));
            var net = new IPNetwork(Mask(addr, len), len);
            entries.Add(new IpCacheEntry(net, (uint)(1000 + i), null));
        }
        var map = new IpCacheMap(entries, 2, 2);
        var last = new Dictionary<IPNetwork, uint>();
        foreach (var e in entries) last[e.Prefix] = e.Identity;
        for (int i = 0; i < 20000; i++)
        {
            var probe = i % 2 == 0 ? entries[rng.Next(entries.Count)].Prefix.BaseAddress : new IPAddress(BitConverter.GetBytes(rng.Next()));
            uint expected = 2; int best = -1;
            foreach (var (p, id) in last)
                if (p.Contains(probe) && p.PrefixLength > best) { best = p.PrefixLength; expected = id; }
            Assert.Equal(expected, map.Lookup(probe));
        }
    }

    [Fact]
    public void TenThousandDualStackPodsTakeAboutOneMegabyte()
    {
        var entries = new List<IpCacheEntry>();
        for (int i = 0; i < 10000; i++)
        {
            entries.Add(new IpCacheEntry(new IPNetwork(new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]), 32), (uint)(256 + i % 500), IPAddress.Parse("198.18.0.2")));
            entries.Add(new IpCacheEntry(IPNetwork.Parse($"fd00::{i:x}/128"), (uint)(256 + i % 500), IPAddress.Parse("2001:db8::2")));
        }
        var map = new IpCacheMap(entries, 9, 10);
        Assert.True(map.MemoryBytes < 3 << 19, $"{map.MemoryBytes} bytes");
        Assert.Equal(256u + 1234 % 500, map.Lookup(IPAddress.Parse("10.0.4.210")));
    }

    private static IPAddress Mask(IPAddress a, int len)
    {
        var b = a.GetAddressBytes();
        for (int i = 0; i < 32; i++)
            if (i >= len) b[i / 8] &= (byte)~(0x80 >> (i % 8));
        return new IPAddress(b);
    }
}
