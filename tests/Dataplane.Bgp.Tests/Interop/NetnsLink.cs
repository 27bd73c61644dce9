using System.Net;

namespace Dataplane.Bgp.Tests.Interop;

/// <summary>
/// A network namespace for a peer daemon, joined to the root namespace by a veth pair. Our speaker runs in
/// the test process on the root end; the daemon runs in the namespace on the other end. Addresses are a
/// random /30 in 198.19.128.0/17 and a random /64 in 2001:db8::/32 so parallel runs do not collide.
/// Disposing kills the daemons and deletes the namespace (which deletes the veth pair) even when the test failed.
/// </summary>
internal sealed class NetnsLink : IDisposable
{
    private readonly NetnsSet _set = new("dpbgp");

    public NetnsLink()
    {
        int r = Random.Shared.Next(1, 0x7FFF);
        string hostIf = $"vbg{_set.Suffix}a", peerIf = $"vbg{_set.Suffix}b";
        int slot = Random.Shared.Next(0, 1 << 13) << 2; // a /30 inside 198.19.128.0/17
        HostV4 = IPAddress.Parse($"198.19.{128 + (slot >> 8)}.{(slot & 0xFF) + 1}");
        PeerV4 = IPAddress.Parse($"198.19.{128 + (slot >> 8)}.{(slot & 0xFF) + 2}");
        string v6 = $"2001:db8:{r:x}:{Random.Shared.Next(1, 0xFFFF):x}";
        HostV6 = IPAddress.Parse($"{v6}::1");
        PeerV6 = IPAddress.Parse($"{v6}::2");
        try
        {
            Namespace = _set.Add("peer");
            _set.Veth(hostIf, null, peerIf, Namespace);
            Sh.Must("ip", "addr", "add", $"{HostV4}/30", "dev", hostIf);
            Sh.Must("ip", "-6", "addr", "add", $"{HostV6}/64", "dev", hostIf, "nodad");
            Sh.Must("ip", "link", "set", hostIf, "up");
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

    public string Namespace { get; } = "";
    public string HostIf { get; } = "";
    public IPAddress HostV4 { get; }
    public IPAddress PeerV4 { get; }
    public IPAddress HostV6 { get; }
    public IPAddress PeerV6 { get; }

    /// <summary>Runs a command inside the namespace and requires success.</summary>
    public string Exec(string file, params string[] args) => NetnsSet.Must(Namespace, [file, .. args]);

    public Sh.Result TryExec(string file, params string[] args) => _set.Exec(Namespace, Sh.DefaultTimeout, [file, .. args]);

    /// <summary>Starts a daemon inside the namespace, its output also in <paramref name="logFile"/>; killed on Dispose.</summary>
    public Background Start(string logFile, string file, params string[] args) =>
        _set.Own(new Background(logFile, "ip", ["netns", "exec", Namespace, file, .. args]));

    /// <summary>A temporary directory for the daemon's files, removed on Dispose.</summary>
    public string Dir(string role) => _set.Dir(role);

    // Deleting the namespace removes its veth end, which removes the pair.
    public void Dispose() => _set.Dispose();
}
