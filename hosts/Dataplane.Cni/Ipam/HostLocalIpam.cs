using System.Net;
using System.Net.Sockets;
using System.Numerics;
using Dataplane.Cni.Cni;

namespace Dataplane.Cni.Ipam;

/// <summary>
/// Host-local address allocation, persistent across restarts: under <c>dataDir/&lt;network&gt;/</c> one file per
/// allocated address (named by the address, holding "containerId\nifName"), a <c>last_reserved_ip.N</c> per
/// subnet so allocation moves round-robin instead of reusing a just-freed address at once, and a lock file
/// (flock) each operation holds from reading the leases to writing them, and no longer: concurrent ADDs never
/// hand out the same address, and one ADD's slow later steps (veth, agent registration) do not hold up another's
/// allocation. The first usable address of each subnet is the pods' gateway and never allocated; IPv4 network
/// and broadcast addresses neither.
/// </summary>
public sealed class HostLocalIpam
{
    /// <summary>Addresses examined per subnet before giving up (a /64 is not walked to its end).</summary>
    private const int MaxProbe = 1 << 16;

    private readonly string _dir;
    private readonly TimeSpan _wait;

    /// <summary>The network's store (created if missing); each operation waits up to <paramref name="wait"/> for its lock.</summary>
    public HostLocalIpam(string dataDir, string network, TimeSpan wait)
    {
        _dir = Path.Combine(dataDir, network);
        _wait = wait;
        try { Directory.CreateDirectory(_dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniCode.IoFailure, $"cannot create IPAM directory {_dir}", e.Message);
        }
    }

    /// <summary>The store's lock file: whoever holds it open (flock) is the one reading and writing leases.</summary>
    public string LockPath => Path.Combine(_dir, "lock");

    /// <summary>Takes the network's lock, waiting up to the configured time; code 11 when another holder keeps it.</summary>
    private FileStream Lock()
    {
        var until = DateTime.UtcNow + _wait;
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive flock() on Linux: other plugin processes wait here.
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < until)
            {
                Thread.Sleep(20);
            }
            catch (IOException e)
            {
                throw new CniException(CniCode.TryAgainLater, $"IPAM store {_dir} is locked by another operation", e.Message);
            }
        }
    }

    public static IPAddress Gateway(IPNetwork subnet) => Add(subnet.BaseAddress, 1);

    /// <summary>The addresses this attachment holds (one per subnet), in subnet order.</summary>
    public List<Allocation> Find(IReadOnlyList<IPNetwork> subnets, string containerId, string ifName)
    {
        using var held = Lock();
        return FindLocked(subnets, containerId, ifName);
    }

    private List<Allocation> FindLocked(IReadOnlyList<IPNetwork> subnets, string containerId, string ifName)
    {
        string owner = Owner(containerId, ifName);
        var found = new List<Allocation>();
        foreach (var file in Directory.EnumerateFiles(_dir))
        {
            if (!IPAddress.TryParse(Path.GetFileName(file), out var ip) || ReadOwner(file) != owner) continue;
            foreach (var s in subnets)
                if (s.Contains(ip)) found.Add(new Allocation(s, ip, Gateway(s)));
        }
        return [.. found.OrderBy(a => subnets.ToList().IndexOf(a.Subnet))];
    }

    /// <summary>One address per subnet for the attachment; the same ones again when it already holds them (ADD retried).</summary>
    public List<Allocation> Allocate(IReadOnlyList<IPNetwork> subnets, string containerId, string ifName)
    {
        using var lease = Lock();
        var held = FindLocked(subnets, containerId, ifName);
        var result = new List<Allocation>();
        for (int i = 0; i < subnets.Count; i++)
        {
            var s = subnets[i];
            var have = held.FirstOrDefault(a => a.Subnet.Equals(s));
            result.Add(have ?? AllocateIn(i, s, Owner(containerId, ifName)));
        }
        return result;
    }

    private Allocation AllocateIn(int index, IPNetwork subnet, string owner)
    {
        var (first, last) = Usable(subnet);
        BigInteger span = last - first + 1;
        string lastFile = Path.Combine(_dir, $"last_reserved_ip.{index}");
        BigInteger start = first;
        if (File.Exists(lastFile) && IPAddress.TryParse(File.ReadAllText(lastFile).Trim(), out var lastIp) && subnet.Contains(lastIp))
        {
            var n = ToBig(lastIp) + 1;
            start = n >= first && n <= last ? n : first;
        }
        long probes = (long)BigInteger.Min(span, MaxProbe);
        for (long k = 0; k < probes; k++)
        {
            var candidate = first + ((start - first + k) % span);
            var ip = FromBig(candidate, subnet.BaseAddress.AddressFamily);
            string path = Path.Combine(_dir, ip.ToString());
            try
            {
                using (var f = Dataplane.Linux.StateFile.Create(path, FileMode.CreateNew))
                using (var w = new StreamWriter(f)) w.Write(owner);
                Dataplane.Linux.StateFile.WriteAllText(lastFile, ip.ToString());
                return new Allocation(subnet, ip, Gateway(subnet));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Taken: the next one.
            }
        }
        throw new CniException(CniCode.AddressesExhausted, $"no free address in {subnet}", $"{span} usable addresses, all allocated (IPAM store {_dir})");
    }

    /// <summary>Frees every address of the attachment; true when there was one.</summary>
    public bool Release(string containerId, string ifName)
    {
        using var held = Lock();
        string owner = Owner(containerId, ifName);
        bool any = false;
        foreach (var file in Directory.EnumerateFiles(_dir))
            if (IPAddress.TryParse(Path.GetFileName(file), out _) && ReadOwner(file) == owner)
            {
                File.Delete(file);
                any = true;
            }
        return any;
    }

    /// <summary>The attachments holding an address (container id, interface), each once.</summary>
    public List<(string ContainerId, string IfName)> Owners()
    {
        using var held = Lock();
        var owners = new HashSet<(string, string)>();
        foreach (var file in Directory.EnumerateFiles(_dir))
            if (IPAddress.TryParse(Path.GetFileName(file), out _) && ReadOwner(file)?.Split('\n') is [var id, var ifName])
                owners.Add((id, ifName));
        return [.. owners];
    }

    private static string Owner(string containerId, string ifName) => $"{containerId}\n{ifName}";

    private static string? ReadOwner(string file)
    {
        try { return File.ReadAllText(file).TrimEnd('\r', '\n', ' '); }
        catch (IOException) { return null; }
    }

    /// <summary>First and last allocatable address: after the gateway, before the IPv4 broadcast.</summary>
    private static (BigInteger First, BigInteger Last) Usable(IPNetwork subnet)
    {
        bool v4 = subnet.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        int hostBits = (v4 ? 32 : 128) - subnet.PrefixLength;
        var net = ToBig(subnet.BaseAddress);
        var top = net + (BigInteger.One << hostBits) - 1;
        return (net + 2, v4 ? top - 1 : top);
    }

    private static BigInteger ToBig(IPAddress a) => new(a.GetAddressBytes(), isUnsigned: true, isBigEndian: true);

    private static IPAddress FromBig(BigInteger v, AddressFamily family)
    {
        var bytes = new byte[family == AddressFamily.InterNetwork ? 4 : 16];
        v.TryWriteBytes(bytes.AsSpan(bytes.Length - v.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return new IPAddress(bytes);
    }

    private static IPAddress Add(IPAddress a, int n) => FromBig(ToBig(a) + n, a.AddressFamily);
}
