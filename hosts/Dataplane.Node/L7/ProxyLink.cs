using System.Net;
using System.Net.Sockets;
using Dataplane.Linux;
using Dataplane.Linux.Netlink;

namespace Dataplane.Node.L7;

/// <summary>
/// The L7 proxy's place on the node: a network namespace of its own (<see cref="Namespace"/>, like a pod's) joined to
/// the datapath by a veth whose datapath end (<see cref="DatapathName"/>) the agent attaches as the proxy endpoint's
/// port, and whose other end, eth0 in the proxy's namespace, carries the proxy's address with a default route through
/// it (the datapath's ARP responder answers with the router MAC, as for a pod). The proxy's sockets are made in that
/// namespace, so its answers and its onward connections enter the datapath like a pod's traffic, and the node's own
/// stack never holds the proxy's address (it would answer ARP for it on the pods' links). Made through rtnetlink; what
/// an earlier agent left is replaced.
/// </summary>
public sealed class ProxyLink : IDisposable
{
    public const string DatapathName = "dp_l7proxy";
    private const string Inside = "eth0";

    private ProxyLink(string ns, IPAddress address, string mac)
    {
        Namespace = ns;
        Address = address;
        KernelMac = mac;
    }

    /// <summary>The proxy's network namespace (named after the agent's own, so agents in different namespaces never collide).</summary>
    public string Namespace { get; }
    public IPAddress Address { get; }
    /// <summary>The MAC of the proxy's eth0: the proxy endpoint's MAC in the datapath.</summary>
    public string KernelMac { get; }

    public static ProxyLink Create(IPAddress address)
    {
        string ns = "dp-l7-" + OwnNamespaceInode();
        NetNamespace.Delete(ns);
        NetNamespace.Create(ns);
        using var nl = RtNetlink.Open();
        try
        {
            nl.DeleteLink(DatapathName);
            nl.CreateVeth(DatapathName, Inside, peerNetns: ns);
            // Whole, checksummed frames from the proxy's stack (as the CNI plugin does for pods).
            DeviceOffloads.DisableAll(DatapathName);
            nl.SetUp(DatapathName);
            string mac = NetNamespace.Run(ns, () =>
            {
                DeviceOffloads.DisableAll(Inside);
                using var inner = RtNetlink.Open();
                inner.AddAddress(Inside, address, 32, noDad: true);
                inner.SetUp(Inside);
                inner.AddRoute(new IPNetwork(IPAddress.Any, 0), null, Inside, replace: true);
                return inner.GetLink(Inside)!.MacText;
            });
            return new ProxyLink(ns, address, mac);
        }
        catch
        {
            try { nl.DeleteLink(DatapathName); } catch (NetlinkException) { /* the original error matters more */ }
            NetNamespace.Delete(ns);
            throw;
        }
    }

    /// <summary>A TCP socket made in the proxy's namespace (usable from any thread afterwards).</summary>
    public Socket NewSocket() => NetNamespace.Run(Namespace, () =>
        new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });

    /// <summary>A UDP socket made in the proxy's namespace.</summary>
    public Socket NewUdpSocket() => NetNamespace.Run(Namespace, () =>
        new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));

    /// <summary>The proxy's default address: the last usable address of the node's first IPv4 pod CIDR.</summary>
    public static IPAddress? DefaultAddress(IEnumerable<IPNetwork> podCidrs)
    {
        foreach (var c in podCidrs)
        {
            if (c.BaseAddress.AddressFamily != AddressFamily.InterNetwork || c.PrefixLength > 30) continue;
            uint b = Core.Routing.RoutePrefix.ToUInt32(c.BaseAddress);
            uint last = b + (uint)((1UL << (32 - c.PrefixLength)) - 2);
            return new IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(last));
        }
        return null;
    }

    private static string OwnNamespaceInode()
    {
        // "net:[4026531840]"
        var target = new FileInfo("/proc/self/ns/net").LinkTarget ?? "net:[0]";
        return new string([.. target.Where(char.IsAsciiDigit)]);
    }

    public void Dispose()
    {
        try
        {
            using var nl = RtNetlink.Open();
            nl.DeleteLink(DatapathName);
        }
        catch (Exception e) when (e is NetlinkException or Linux.Interop.LinuxException) { /* gone with the namespace */ }
        try { NetNamespace.Delete(Namespace); }
        catch (Exception e) when (e is IOException or Linux.Interop.LinuxException) { /* nothing left to free */ }
    }
}
