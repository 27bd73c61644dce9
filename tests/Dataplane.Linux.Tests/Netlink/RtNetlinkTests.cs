using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Dataplane.Linux;
using Dataplane.Linux.Netlink;

namespace Dataplane.Linux.Tests.Netlink;

/// <summary>
/// The rtnetlink client against real namespaces: what it sets up is read back with iproute2's JSON output (the
/// test may use `ip`, the product does not) and then carries pings; what the kernel refuses comes back as a
/// <see cref="NetlinkException"/> that names the request and the errno.
/// </summary>
public sealed class RtNetlinkTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(10);

    [Fact]
    public void Veth_CreatedMovedRenamedAddressedRouted_AsIpReportsIt_AndPings()
    {
        using var set = new NetnsSet("nlt");
        string a = set.Add("a"), b = set.Add("b");
        string va = $"nla{set.Suffix}", vb = $"nlb{set.Suffix}";
        using (var nl = RtNetlink.OpenIn(a))
        {
            nl.CreateVeth(va, vb, mtu: 1400);
            nl.MoveToNamespace(vb, b);
            Assert.Null(nl.GetLink(vb));
            nl.SetMac(va, "02:00:5e:00:00:0a");
            nl.AddAddress(va, IPAddress.Parse("198.18.7.1"), 24);
            nl.AddAddress(va, IPAddress.Parse("fd00:7::1"), 64, noDad: true);
            nl.SetUp(va);
        }
        using (var nl = RtNetlink.OpenIn(b))
        {
            nl.Rename(vb, "eth7");
            nl.SetMtu("eth7", 1380);
            nl.AddAddress("eth7", IPAddress.Parse("198.18.7.2"), 24);
            nl.AddAddress("eth7", IPAddress.Parse("fd00:7::2"), 64, noDad: true);
            nl.SetUp("eth7");
            // The gateway is outside every subnet of the link: only reachable with onlink.
            nl.AddRoute(IPNetwork.Parse("0.0.0.0/0"), IPAddress.Parse("198.18.9.1"), "eth7", onLink: true);
            nl.AddRoute(IPNetwork.Parse("198.18.8.0/24"), IPAddress.Parse("198.18.7.1"), "eth7");
            nl.AddRoute(IPNetwork.Parse("::/0"), IPAddress.Parse("fd00:7::1"), "eth7", replace: true);

            var link = nl.GetLink("eth7")!;
            Assert.True(link.IsUp);
            Assert.Equal("veth", link.Kind);
            Assert.Equal(1380, link.Mtu);
            Assert.Equal("eth7", nl.GetLink(link.Index)!.Name);
            Assert.Contains(nl.Addresses("eth7", AddressFamily.InterNetworkV6), x => x.ToString() == "fd00:7::2/64" && x.NoDad);
            Assert.Contains(nl.Routes(AddressFamily.InterNetwork), r => r.IsDefault && r.OnLink && r.Gateway!.Equals(IPAddress.Parse("198.18.9.1")) && r.LinkIndex == link.Index);
        }

        var la = Link(a, va);
        Assert.Equal("02:00:5e:00:00:0a", la["address"]!.GetValue<string>());
        Assert.Equal(1400, la["mtu"]!.GetValue<int>());
        Assert.Contains("UP", la["flags"]!.AsArray().Select(f => f!.GetValue<string>()));
        var lb = Link(b, "eth7");
        Assert.Equal(1380, lb["mtu"]!.GetValue<int>());

        var addrs = Json(Sh.Must("ip", "-j", "-n", b, "addr", "show", "dev", "eth7"))[0]!["addr_info"]!.AsArray();
        Assert.Contains(addrs, x => x!["local"]!.GetValue<string>() == "198.18.7.2" && x["prefixlen"]!.GetValue<int>() == 24);
        var v6 = addrs.Single(x => x!["local"]!.GetValue<string>() == "fd00:7::2")!;
        Assert.Equal(64, v6["prefixlen"]!.GetValue<int>());
        Assert.True(v6["nodad"]?.GetValue<bool>() ?? false, "IFA_F_NODAD set: " + v6.ToJsonString());
        Assert.Null(v6["tentative"]);

        var routes = Json(Sh.Must("ip", "-j", "-n", b, "route", "show"));
        var def = routes.Single(r => r!["dst"]!.GetValue<string>() == "default")!;
        Assert.Equal("198.18.9.1", def["gateway"]!.GetValue<string>());
        Assert.Contains("onlink", def["flags"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Contains(routes, r => r!["dst"]!.GetValue<string>() == "198.18.8.0/24" && r["gateway"]!.GetValue<string>() == "198.18.7.1");
        var def6 = Json(Sh.Must("ip", "-j", "-6", "-n", b, "route", "show", "default")).Single()!;
        Assert.Equal("fd00:7::1", def6["gateway"]!.GetValue<string>());

        Assert.True(Sh.Run(Short, "ip", "netns", "exec", b, "ping", "-c", "1", "-W", "2", "198.18.7.1").Ok, "IPv4 over the pair");
        Assert.True(Sh.Run(Short, "ip", "netns", "exec", b, "ping", "-6", "-c", "1", "-W", "2", "fd00:7::1").Ok, "IPv6 at once (no DAD)");

        using (var nl = RtNetlink.OpenIn(b))
        {
            Assert.True(nl.DeleteRoute(IPNetwork.Parse("198.18.8.0/24"), IPAddress.Parse("198.18.7.1"), "eth7"));
            Assert.False(nl.DeleteRoute(IPNetwork.Parse("198.18.8.0/24"), IPAddress.Parse("198.18.7.1"), "eth7"));
            Assert.True(nl.DeleteAddress("eth7", IPAddress.Parse("198.18.7.2"), 24));
            Assert.False(nl.DeleteAddress("eth7", IPAddress.Parse("198.18.7.2"), 24));
            nl.SetUp("eth7", false);
            Assert.False(nl.GetLink("eth7")!.IsUp);
            Assert.True(nl.DeleteLink("eth7"));
            Assert.False(nl.DeleteLink("eth7"));
        }
        // Deleting one end removed the pair.
        Assert.False(Sh.Run("ip", "-n", a, "link", "show", "dev", va).Ok);
    }

    [Fact]
    public void Refusals_NameTheRequestAndErrno()
    {
        using var set = new NetnsSet("nlt");
        string a = set.Add("a");
        using var nl = RtNetlink.OpenIn(a);
        nl.CreateVeth("x0", "x1");
        var exists = Assert.Throws<NetlinkException>(() => nl.CreateVeth("x0", "x2"));
        Assert.Equal(NetlinkException.EEXIST, exists.Errno);
        Assert.StartsWith("create veth x0/x2: ", exists.Message);

        Assert.Null(nl.GetLink("nosuch0"));
        Assert.False(nl.DeleteLink("nosuch0"));
        var missing = Assert.Throws<NetlinkException>(() => nl.SetUp("nosuch0"));
        Assert.True(missing.IsNotFound, missing.Message);
        Assert.Contains("nosuch0", missing.Message);

        nl.SetUp("x0");
        var taken = Assert.Throws<NetlinkException>(() => nl.Rename("x0", "x1"));
        Assert.Contains("set link x0 name x1", taken.Message);
        Assert.Equal(NetlinkException.EEXIST, taken.Errno);

        // A gateway on no subnet of the link, without onlink: the kernel says why (extended ACK) where it can.
        var unreachable = Assert.Throws<NetlinkException>(() => nl.AddRoute(IPNetwork.Parse("0.0.0.0/0"), IPAddress.Parse("198.18.99.1"), "x0"));
        Assert.Contains("add route default via 198.18.99.1 dev x0", unreachable.Message);
        Assert.Equal(101 /* ENETUNREACH */, unreachable.Errno);
        Assert.False(string.IsNullOrEmpty(unreachable.KernelMessage), "the kernel's extended ACK sentence: " + unreachable.Message);
        Assert.EndsWith(unreachable.KernelMessage!, unreachable.Message);

        Assert.Throws<ArgumentException>(() => nl.CreateVeth("a-name-far-too-long", "x3"));
        var noNs = Assert.Throws<NetlinkException>(() => nl.MoveToNamespace("x1", $"nlt-none-{set.Suffix}"));
        Assert.Contains("no such namespace", noNs.Message);
        Assert.Equal(2, nl.Links().Count(l => l.Name is "x0" or "x1"));
    }

    [Fact]
    public async Task NamedNamespace_CreatedLikeIpNetnsAdd_SeenByIp_Deleted()
    {
        Requires.RootAnd("ip");
        string name = $"nlt-own-{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}";
        try
        {
            NetNamespace.Create(name);
            Assert.Contains(name, Sh.Must("ip", "netns", "list"));
            Assert.Contains(name, NetNamespace.List());
            Assert.Contains("UP", Link(name, "lo")["flags"]!.AsArray().Select(f => f!.GetValue<string>()));
            Assert.Throws<IOException>(() => NetNamespace.Create(name));
            // A different namespace from ours: a link made there is not here.
            using (var nl = RtNetlink.OpenIn(name)) nl.CreateVeth("own0", "own1");
            Assert.True(Sh.Run("ip", "-n", name, "link", "show", "own0").Ok);
            Assert.Null(RtNetlink.Open().GetLink("own0"));

            using var sleeper = new Background("ip", ["netns", "exec", name, "sleep", "30"]);
            await Eventually.True(() => NetNamespace.Pids(name).Contains(sleeper.Pid), TimeSpan.FromSeconds(5), "the process is seen in the namespace");
        }
        finally
        {
            if (NetNamespace.List().Contains(name))
                foreach (int pid in NetNamespace.Pids(name)) Sh.kill(pid, Sh.SIGKILL);
            NetNamespace.Delete(name);
        }
        Assert.DoesNotContain(name, Sh.Must("ip", "netns", "list"));
        Assert.False(NetNamespace.Delete(name));
    }

    private static JsonObject Link(string ns, string dev) => Json(Sh.Must("ip", "-j", "-n", ns, "link", "show", "dev", dev))[0]!.AsObject();

    private static JsonArray Json(string text) => JsonNode.Parse(text)!.AsArray();
}
