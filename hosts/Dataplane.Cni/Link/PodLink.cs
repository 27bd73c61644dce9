using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Dataplane.Cni.Cni;
using Dataplane.Cni.Ipam;

namespace Dataplane.Cni.Link;

/// <summary>
/// The pod's veth pair: the container end is CNI_IFNAME in CNI_NETNS, with the allocated addresses and a
/// default route via the subnet's gateway (answered by the dataplane's ARP/ND responder with its router MAC);
/// the host end is <c>lxc</c> + 12 hex digits, the name the agent attaches to as the endpoint's port.
/// </summary>
internal static class PodLink
{
    /// <summary>Same naming as the config's Pods ("lxc" + SHA-256("namespace/name")[..12]), so a YAML Pod and its CNI veth agree.</summary>
    public static string HostName(string key) =>
        "lxc" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];

    public sealed record Created(string HostIf, string HostMac, string PodMac);

    public static Created Create(string netns, string ifName, string hostIf, int mtu, IReadOnlyList<HostLocalIpam.Allocation> ips)
    {
        // A host end left by an ADD that failed half way (same pod, same name) is replaced.
        if (Ip.LinkExists(null, hostIf)) Ip.Must(null, "link", "del", "dev", hostIf);
        if (Ip.LinkExists(netns, ifName))
            throw new CniException(CniCode.Other, $"interface {ifName} already exists in {netns}");
        string tmp = "dpc" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        Ip.Must(null, "link", "add", hostIf, "mtu", mtu.ToString(), "type", "veth", "peer", "name", tmp, "mtu", mtu.ToString());
        try
        {
            // Complete, wire-sized frames from the pod (its kernel segments and sums in software): cheaper for the
            // dataplane than completing sums and segmenting 64 KiB frames itself. Set while both ends are here.
            DisableOffloads(tmp);
            DisableOffloads(hostIf);
            Ip.Must(null, "link", "set", "dev", tmp, "netns", netns);
            Ip.Must(netns, "link", "set", "dev", tmp, "name", ifName);
            Ip.Must(netns, "link", "set", "dev", "lo", "up");
            foreach (var a in ips)
            {
                // No duplicate address detection: the address is ours (IPAM), and DAD would delay the first packet.
                string[] args = a.Address.AddressFamily == AddressFamily.InterNetworkV6
                    ? ["addr", "add", $"{a.Address}/{a.Subnet.PrefixLength}", "dev", ifName, "nodad"]
                    : ["addr", "add", $"{a.Address}/{a.Subnet.PrefixLength}", "dev", ifName];
                Ip.Must(netns, args);
            }
            Ip.Must(netns, "link", "set", "dev", ifName, "up");
            Ip.Must(null, "link", "set", "dev", hostIf, "up");
            foreach (var a in ips)
                Ip.Must(netns, Family(a.Address), "route", "replace", "default", "via", a.Gateway.ToString(), "dev", ifName);
            return new Created(hostIf, Ip.MacOf(null, hostIf), Ip.MacOf(netns, ifName));
        }
        catch
        {
            Ip.Try(null, "ip", "link", "del", "dev", hostIf);
            throw;
        }
    }

    private static void DisableOffloads(string ifName)
    {
        try { Dataplane.Linux.DeviceOffloads.DisableAll(ifName); }
        catch (Dataplane.Linux.Interop.LinuxException e)
        {
            throw new CniException(CniCode.Other, $"cannot turn offloads off on {ifName}", e.Message);
        }
    }

    /// <summary>Deletes the pair (deleting either end removes both); fine when it is already gone.</summary>
    public static void Delete(string? netns, string ifName, string hostIf)
    {
        if (Ip.LinkExists(null, hostIf)) Ip.Must(null, "link", "del", "dev", hostIf);
        if (!string.IsNullOrEmpty(netns) && File.Exists(netns) && Ip.LinkExists(netns, ifName))
            Ip.Try(netns, "ip", "link", "del", "dev", ifName);
    }

    /// <summary>The reason the attachment is not as ADD left it, or null.</summary>
    public static string? Verify(string netns, string ifName, string hostIf, IReadOnlyList<HostLocalIpam.Allocation> ips)
    {
        if (!Ip.LinkExists(null, hostIf)) return $"host interface {hostIf} does not exist";
        if (!Ip.LinkExists(netns, ifName)) return $"interface {ifName} does not exist in {netns}";
        foreach (var a in ips)
        {
            var addrs = Ip.Must(netns, Family(a.Address), "-o", "addr", "show", "dev", ifName);
            if (!addrs.Contains($" {a.Address}/{a.Subnet.PrefixLength} ", StringComparison.Ordinal))
                return $"{ifName} does not carry {a.Address}/{a.Subnet.PrefixLength}";
            var routes = Ip.Must(netns, Family(a.Address), "route", "show", "default");
            if (!routes.Contains($"via {a.Gateway} dev {ifName}", StringComparison.Ordinal))
                return $"no default route via {a.Gateway} on {ifName}";
        }
        return null;
    }

    private static string Family(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork ? "-4" : "-6";
}
