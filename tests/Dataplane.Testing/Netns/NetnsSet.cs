using System.Globalization;
using System.Security.Cryptography;
using Dataplane.Linux;
using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Netns;

/// <summary>
/// The one way tests build hosts: network namespaces with names unique to this run (a random suffix), veth pairs
/// between them, the processes started inside, temporary directories and other resources handed over with
/// <see cref="Own"/>. Dispose tears everything down in reverse order — children killed with their trees, whatever
/// still runs in a namespace killed, namespaces deleted (which deletes their veths), directories removed — and
/// never stops at the first error. A set still alive when the test process exits is torn down then.
/// </summary>
public sealed class NetnsSet : IDisposable
{
    private static readonly HashSet<NetnsSet> Live = [];

    static NetnsSet() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        NetnsSet[] left;
        lock (Live) left = [.. Live];
        foreach (var s in left) s.Dispose();
    };

    private readonly List<string> _namespaces = [];
    private readonly List<IDisposable> _owned = [];
    private readonly List<string> _dirs = [];
    private bool _disposed;

    /// <param name="prefix">Starts every namespace name (keep it short: interface names share the suffix).</param>
    public NetnsSet(string prefix = "dpt")
    {
        Kernel.Requires.RootAnd("ip");
        Prefix = prefix;
        Suffix = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        lock (Live) Live.Add(this);
    }

    public string Prefix { get; }

    /// <summary>Six hex digits unique to this set: name devices and directories with it too.</summary>
    public string Suffix { get; }

    public IReadOnlyList<string> Namespaces { get { lock (_namespaces) return [.. _namespaces]; } }

    /// <summary>Creates namespace <c>{prefix}-{role}-{suffix}</c> with its loopback up; returns its name.</summary>
    public string Add(string role) => AddNamed($"{Prefix}-{role}-{Suffix}");

    /// <summary>Creates a namespace with exactly this name (it must be unique to the run) and its loopback up.</summary>
    public string AddNamed(string ns)
    {
        Sh.Must("ip", "netns", "add", ns);
        lock (_namespaces) _namespaces.Add(ns);
        Sh.Must("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>A directory under /tmp named <c>{prefix}-{role}-{suffix}</c>, created now and removed on Dispose.</summary>
    public string Dir(string role)
    {
        string path = Path.Combine(Path.GetTempPath(), $"{Prefix}-{role}-{Suffix}");
        Directory.CreateDirectory(path);
        lock (_dirs) _dirs.Add(path);
        return path;
    }

    /// <summary>Hands a resource (a relay, a daemon) to the set: disposed on teardown, before the namespaces go.</summary>
    public T Own<T>(T resource) where T : IDisposable
    {
        lock (_owned) _owned.Add(resource);
        return resource;
    }

    /// <summary>A veth pair: <paramref name="a"/> in <paramref name="nsA"/>, <paramref name="b"/> in <paramref name="nsB"/>
    /// (null: the test process's namespace), with <paramref name="queues"/> rx/tx queues each.</summary>
    public void Veth(string a, string? nsA, string b, string? nsB, int queues = 1)
    {
        string q = queues.ToString(CultureInfo.InvariantCulture);
        List<string> args = ["link", "add", a];
        if (queues != 1) args.AddRange(["numtxqueues", q, "numrxqueues", q]);
        if (nsA != null) args.AddRange(["netns", nsA]);
        args.AddRange(["type", "veth", "peer", "name", b]);
        if (queues != 1) args.AddRange(["numtxqueues", q, "numrxqueues", q]);
        if (nsB != null) args.AddRange(["netns", nsB]);
        Sh.Must("ip", [.. args]);
    }

    /// <summary>Sets a link up with complete frames: no checksum offload (partial checksums) and no GSO/GRO
    /// (64 KiB super-frames), so what a forwarder sees and sends is what is on the wire.</summary>
    public static void Up(string ns, string dev)
    {
        Sh.Must("ip", "-n", ns, "link", "set", dev, "up");
        DisableOffloads(ns, dev);
    }

    /// <summary>Turns a link's offloads off with SIOCETHTOOL from inside its namespace (no ethtool binary needed).</summary>
    public static void DisableOffloads(string ns, string dev) => NetNamespace.Run(ns, () => DeviceOffloads.DisableAll(dev));

    /// <summary>Keeps the namespace's kernel out of a forwarder's links: no IPv6 addresses, no router solicitations.</summary>
    public static void KernelStaysOff(string ns) =>
        Must(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");

    /// <summary>The MAC address of a link.</summary>
    public static string Mac(string ns, string dev) =>
        Sh.Must("ip", "-n", ns, "-br", "link", "show", dev).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];

    /// <summary>Runs a command inside a namespace and requires success.</summary>
    public static string Must(string ns, params string[] cmd) => Sh.Must("ip", ["netns", "exec", ns, .. cmd]);

    /// <summary>Runs a command inside a namespace with a bound.</summary>
    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => Sh.Run(timeout, "ip", ["netns", "exec", ns, .. cmd]);

    /// <summary>Starts a long-running command inside a namespace; killed at the latest on Dispose.</summary>
    public Background Start(string ns, params string[] cmd) => Own(new Background("ip", ["netns", "exec", ns, .. cmd]));

    public void Dispose()
    {
        lock (Live)
        {
            if (_disposed) return;
            _disposed = true;
            Live.Remove(this);
        }
        List<IDisposable> owned;
        lock (_owned) { owned = [.. _owned]; _owned.Clear(); }
        owned.Reverse();
        foreach (var o in owned)
        {
            try { o.Dispose(); } catch (Exception) { /* teardown continues whatever one resource did */ }
        }
        foreach (var ns in Namespaces) Delete(ns);
        foreach (var d in _dirs) TempDir.Delete(d);
    }

    /// <summary>Kills what still runs inside (it would keep the links alive) and deletes the namespace.</summary>
    public static void Delete(string ns)
    {
        try
        {
            var pids = Sh.Run("ip", "netns", "pids", ns);
            if (pids.Ok)
                foreach (var line in pids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    if (int.TryParse(line, out int pid)) Sh.kill(pid, Sh.SIGKILL);
            Sh.Run("ip", "netns", "del", ns);
        }
        catch (Exception) { /* one namespace's trouble does not keep the others */ }
    }
}
