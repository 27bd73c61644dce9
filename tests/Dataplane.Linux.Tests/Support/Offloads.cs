using Dataplane.Linux;

namespace Dataplane.Linux.Tests.Support;

/// <summary>Test topologies that want complete frames on the wire turn a veth's offloads off (SIOCETHTOOL, no ethtool binary).</summary>
public static class Offloads
{
    public static void Disable(string ns, string dev) => NetNamespace.Run(ns, () => DeviceOffloads.DisableAll(dev));
}
