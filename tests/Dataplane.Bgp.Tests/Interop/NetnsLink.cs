using System.Net;

namespace Dataplane.Bgp.Tests.Interop;

/// <summary>
/// A network namespace for a peer daemon, joined to the root namespace by a veth pair. Our speaker runs in
/// the test process on the root end; the daemon runs in the namespace on the other end. Addresses are a
/// random /30 in 198.19.128.0/17 and a random /64 in 2001:db8::/32 so parallel runs do not collide.
/// Disposing deletes the namespace (which deletes the veth pair) even when the test failed.
/// </summary>
internal sealed class NetnsLink : IDisposable
{
    public NetnsLink()
    {
        int r = Random.Shared.Next(1, 0x7FFF);
        Namespace = $"dpbgp-{Environment.ProcessId}-{r}";
        string hostIf = $"vbg{r:x4}a", peerIf = $"vbg{r:x4}b";
        int slot = Random.Shared.Next(0, 1 << 13) << 2; // a /30 inside 198.19.128.0/17
        HostV4 = IPAddress.Parse($"198.19.{128 + (slot >> 8)}.{(slot & 0xFF) + 1}");
        PeerV4 = IPAddress.Parse($"198.19.{128 + (slot >> 8)}.{(slot & 0xFF) + 2}");
        string v6 = $"2001:db8:{r:x}:{Random.Shared.Next(1, 0xFFFF):x}";
        HostV6 = IPAddress.Parse($"{v6}::1");
        PeerV6 = IPAddress.Parse($"{v6}::2");
        try
        {
            Tool.Check("ip", "netns", "add", Namespace);
            Tool.Check("ip", "link", "add", hostIf, "type", "veth", "peer", "name", peerIf);
            Tool.Check("ip", "link", "set", peerIf, "netns", Namespace);
            Tool.Check("ip", "addr", "add", $"{HostV4}/30", "dev", hostIf);
            Tool.Check("ip", "-6", "addr", "add", $"{HostV6}/64", "dev", hostIf, "nodad");
            Tool.Check("ip", "link", "set", hostIf, "up");
            Exec("ip", "link", "set", "lo", "up");
            Exec("ip", "addr", "add", $"{PeerV4}/30", "dev", peerIf);
            Exec("ip", "-6", "addr", "add", $"{PeerV6}/64", "dev", peerIf, "nodad");
            Exec("ip", "link", "set", peerIf, "up");
            HostIf = hostIf;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Namespace { get; }
    public string HostIf { get; } = "";
    public IPAddress HostV4 { get; }
    public IPAddress PeerV4 { get; }
    public IPAddress HostV6 { get; }
    public IPAddress PeerV6 { get; }

    /// <summary>Runs a command inside the namespace and requires success.</summary>
    public string Exec(string file, params string[] args) => Tool.Check("ip", ["netns", "exec", Namespace, file, .. args]);

    public (int Code, string Out, string Err) TryExec(string file, params string[] args) => Tool.Run("ip", ["netns", "exec", Namespace, file, .. args]);

    public void Dispose()
    {
        // Deleting the namespace removes its veth end, which removes the pair.
        Tool.Run("ip", "netns", "del", Namespace);
    }
}
