using System.Text;
using Dataplane.Cni.Cni;
using Dataplane.Cni.Ipam;
using Dataplane.Linux;
using Dataplane.Linux.Interop;
using Dataplane.Linux.Netlink;

namespace Dataplane.Cni.Link;

/// <summary>
/// The pod's veth pair, made through rtnetlink (no `ip` process): the container end is CNI_IFNAME in CNI_NETNS,
/// with the allocated addresses and a default route via the subnet's gateway (answered by the dataplane's ARP/ND
/// responder with its router MAC); the host end is <c>lxc</c> + 12 hex digits, the name the agent attaches to as
/// the endpoint's port. Every kernel refusal becomes a CNI error carrying the kernel's reason.
/// </summary>
internal static class PodLink
{
    /// <summary>Same naming as the config's Pods ("lxc" + SHA-256("namespace/name")[..12]), so a YAML Pod and its CNI veth agree.</summary>
    public static string HostName(string key) =>
        "lxc" + Convert.ToHexStringLower(Sha256.HashData(Encoding.UTF8.GetBytes(key)))[..12];

    public sealed record Created(string HostIf, string HostMac, string PodMac);

    public static Created Create(string netns, string ifName, string hostIf, int mtu, IReadOnlyList<Allocation> ips, IReadOnlyList<PodRoute> routes)
    {
        using var host = Netlink(RtNetlink.Open);
        // A host end left by an ADD that failed half way (same pod, same name) is replaced.
        Netlink(() => host.DeleteLink(hostIf));
        using var pod = InPod(netns, () => RtNetlink.Open());
        if (Netlink(() => pod.GetLink(ifName)) is not null)
            throw new CniException(CniCode.Other, $"interface {ifName} already exists in {netns}");
        // The container end is born in the pod's namespace under its final name: nothing to move or rename, and
        // nothing of it is ever left in the host's namespace.
        Netlink(() => host.CreateVeth(hostIf, ifName, mtu, peerNetns: netns));
        CniTiming.Mark("veth");
        try
        {
            // Complete, wire-sized frames from the pod (its kernel segments and sums in software): cheaper for the
            // dataplane than completing sums and segmenting 64 KiB frames itself.
            DisableOffloads(null, hostIf);
            DisableOffloads(netns, ifName);
            CniTiming.Mark("offloads");
            return Netlink(() =>
            {
                pod.SetUp("lo");
                // No duplicate address detection: the address is ours (IPAM), and DAD would delay the first packet.
                foreach (var a in ips) pod.AddAddress(ifName, a.Address, a.Subnet.PrefixLength, noDad: true);
                pod.SetUp(ifName);
                host.SetUp(hostIf);
                foreach (var r in routes)
                    pod.AddRoute(r.Destination, r.GatewayFrom(ips), ifName, replace: true);
                return new Created(hostIf, host.GetLink(hostIf)!.MacText, pod.GetLink(ifName)!.MacText);
            });
        }
        catch
        {
            try { host.DeleteLink(hostIf); } catch (NetlinkException) { /* the error being reported matters more */ }
            throw;
        }
    }

    /// <summary>Deletes the pair (deleting either end removes both); fine when it is already gone.</summary>
    public static void Delete(string? netns, string ifName, string hostIf)
    {
        using var host = Netlink(RtNetlink.Open);
        if (Netlink(() => host.DeleteLink(hostIf))) return;
        if (string.IsNullOrEmpty(netns) || !File.Exists(netns)) return;
        try
        {
            using var pod = InPod(netns, () => RtNetlink.Open());
            Netlink(() => pod.DeleteLink(ifName));
        }
        catch (CniException e) when (e.Code == CniCode.ContainerUnknown) { /* the namespace went meanwhile: nothing left */ }
    }

    /// <summary>The reason the attachment is not as ADD left it, or null.</summary>
    public static string? Verify(string netns, string ifName, string hostIf, IReadOnlyList<Allocation> ips, IReadOnlyList<PodRoute> routes)
    {
        using var host = Netlink(RtNetlink.Open);
        if (Netlink(() => host.GetLink(hostIf)) is null) return $"host interface {hostIf} does not exist";
        using var pod = InPod(netns, () => RtNetlink.Open());
        return Netlink(() =>
        {
            var link = pod.GetLink(ifName);
            if (link is null) return $"interface {ifName} does not exist in {netns}";
            foreach (var a in ips)
            {
                var family = a.Address.AddressFamily;
                if (!pod.Addresses(ifName, family).Any(x => x.Address.Equals(a.Address) && x.PrefixLength == a.Subnet.PrefixLength))
                    return $"{ifName} does not carry {a.Address}/{a.Subnet.PrefixLength}";
            }
            foreach (var want in routes)
            {
                var gw = want.GatewayFrom(ips);
                if (!pod.Routes(want.Destination.BaseAddress.AddressFamily).Any(r =>
                        r.Destination.Equals(want.Destination) && Equals(gw, r.Gateway) && r.LinkIndex == link.Index))
                    return $"no {(want.Destination.PrefixLength == 0 ? "default route" : $"route to {want.Destination}")}{(gw is null ? "" : $" via {gw}")} on {ifName}";
            }
            return null;
        });
    }

    private static void DisableOffloads(string? netns, string ifName)
    {
        try
        {
            if (netns is null) DeviceOffloads.DisableAll(ifName);
            else InPod(netns, () => { DeviceOffloads.DisableAll(ifName); return 0; });
        }
        catch (LinuxException e)
        {
            throw new CniException(CniCode.Other, $"cannot turn offloads off on {ifName}", e.Message);
        }
    }

    /// <summary>Runs in the pod's namespace; a path that is not (or no longer) a network namespace is CNI code 3.</summary>
    private static T InPod<T>(string netns, Func<T> action)
    {
        try { return NetNamespace.Run(netns, action); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CniException(CniCode.ContainerUnknown, $"network namespace {netns} does not exist");
        }
        catch (LinuxException e) when (e.Message.StartsWith("setns(", StringComparison.Ordinal))
        {
            throw new CniException(CniCode.ContainerUnknown, $"{netns} is not a network namespace", e.Message);
        }
    }

    private static T Netlink<T>(Func<T> action)
    {
        try { return action(); }
        catch (NetlinkException e) { throw new CniException(CniCode.Other, e.Message, e.KernelMessage); }
        catch (LinuxException e) { throw new CniException(CniCode.Other, "rtnetlink: " + e.Message); }
    }

    private static void Netlink(Action action) => Netlink(() => { action(); return 0; });
}
