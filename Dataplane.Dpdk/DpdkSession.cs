using System.Globalization;
using Dataplane.Dpdk.Eal;
using Dataplane.Dpdk.Ethdev;
using Dataplane.Dpdk.Interop;

namespace Dataplane.Dpdk;

/// <summary>
/// Everything a forwarder needs from DPDK for a set of named interfaces: the EAL, one mbuf pool, one started
/// ethdev per interface with N queue pairs. How a configured interface finds its DPDK port, first match wins:
/// <list type="number">
/// <item>a <c>--vdev</c> whose <c>iface=</c> names it (<c>net_af_packet0,iface=eth1</c>, <c>net_af_xdp0,iface=eth1</c>,
///   <c>net_tap0,iface=tap1</c>) serves it;</item>
/// <item>a DPDK port whose device name is the interface's name (<c>--vdev net_memif0</c> or <c>-a 0000:03:00.0</c>
///   with an interface of that name in the config) serves it;</item>
/// <item>otherwise, if a Linux interface of that name exists, the session adds
///   <c>--vdev net_af_packet_NAME,iface=NAME</c> (with <c>qpairs=N</c> for N queues) for it;</item>
/// <item>otherwise the interface is not served (the forwarder skips it).</item>
/// </list>
/// </summary>
public sealed class DpdkSession : IDisposable
{
    private readonly Dictionary<string, EthDev> _byInterface = new(StringComparer.Ordinal);
    private readonly List<EthDev> _devices = [];
    private MbufPool? _pool;
    private DpdkEal? _eal;
    private readonly HashSet<int> _registered = [];

    private DpdkSession() { }

    /// <summary>The initialised EAL (arguments, runtime directory) this session owns.</summary>
    public DpdkEal Eal => _eal ?? throw new ObjectDisposedException(nameof(DpdkSession));
    /// <summary>The one mbuf pool every port receives into.</summary>
    public MbufPool Pool => _pool ?? throw new ObjectDisposedException(nameof(DpdkSession));
    /// <summary>Every started device, in the order they were mapped to interfaces.</summary>
    public IReadOnlyList<EthDev> Devices => _devices;

    /// <summary>Descriptors per rx and per tx queue (drivers may adjust).</summary>
    public const ushort Descriptors = 1024;

    /// <summary>
    /// Initialises the EAL with <paramref name="userArgs"/> (plus an af_packet vdev for each interface nothing else
    /// serves and that <paramref name="linuxInterfaceExists"/>), creates the pool and starts every mapped port.
    /// On any failure everything created so far is torn down and a <see cref="DpdkException"/> says why.
    /// </summary>
    public static DpdkSession Start(IReadOnlyList<string> userArgs, IEnumerable<string> interfaces, int queues,
        Func<string, bool> linuxInterfaceExists, uint mbufs = 0)
    {
        var names = interfaces.Distinct(StringComparer.Ordinal).ToList();
        var (args, deviceByIface) = Plan(userArgs, names, queues, linuxInterfaceExists);
        var s = new DpdkSession();
        try
        {
            s._eal = DpdkEal.Init(args);
            // The EAL carries on when a driver fails to probe a vdev (e.g. its interface does not exist): we do not.
            foreach (var vdev in EalArgs.Vdevs(args))
            {
                string dev = vdev.Split(',')[0];
                if (EthDev.FindPort(dev) is null)
                    throw new DpdkException($"DPDK: --vdev {vdev} did not create a port (does the interface exist? is the driver installed?)" +
                        $"\nEAL log:\n{s._eal.InitLog.TrimEnd()}");
            }
            var mapped = new List<(string Iface, ushort Port)>();
            foreach (var name in names)
            {
                string dev = deviceByIface.TryGetValue(name, out var d) ? d : name;
                ushort? port = EthDev.FindPort(dev);
                if (port is null && deviceByIface.ContainsKey(name))
                    throw new DpdkException($"DPDK: device {dev} for interface {name} did not appear (DPDK ports: {string.Join(", ", EthDev.AllPortNames())})");
                if (port is not null) mapped.Add((name, port.Value));
            }
            uint count = mbufs != 0 ? mbufs : PoolSize(mapped.Count, queues);
            s._pool = new MbufPool("dp_mbufs", count);
            foreach (var (iface, port) in mapped)
            {
                var dev = new EthDev(port, s._pool, queues, Descriptors, Descriptors);
                s._devices.Add(dev);
                s._byInterface[iface] = dev;
            }
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The mapping rules (see the class summary) before the EAL exists: the EAL arguments (the user's plus an
    /// af_packet vdev per otherwise unserved Linux interface) and the device name for each interface that a vdev
    /// serves. Interfaces not in the map are looked up as DPDK device names after init.
    /// </summary>
    public static (List<string> Args, Dictionary<string, string> DeviceByInterface) Plan(IReadOnlyList<string> userArgs,
        IReadOnlyList<string> interfaces, int queues, Func<string, bool> linuxInterfaceExists)
    {
        var deviceByIface = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (dev, iface) in EalArgs.InterfacesByDevice(userArgs)) deviceByIface.TryAdd(iface, dev);
        var namedDevices = new HashSet<string>(EalArgs.Vdevs(userArgs).Select(v => v.Split(',')[0]), StringComparer.Ordinal);
        foreach (var opt in new[] { "-a", "--allow" }) namedDevices.UnionWith(OptionValues(userArgs, opt).Select(v => v.Split(',')[0]));

        var args = new List<string>(userArgs);
        foreach (var name in interfaces)
        {
            if (deviceByIface.ContainsKey(name) || namedDevices.Contains(name) || !linuxInterfaceExists(name)) continue;
            string dev = "net_af_packet_" + name;
            args.AddRange(["--vdev", $"{dev},iface={name}" + (queues > 1 ? $",qpairs={queues.ToString(CultureInfo.InvariantCulture)}" : "")]);
            deviceByIface[name] = dev;
        }
        return (args, deviceByIface);
    }

    /// <summary>Enough mbufs for every rx and tx ring full plus a batch in flight per queue, rounded up to 2^k − 1 (DPDK's best ring fit).</summary>
    public static uint PoolSize(int devices, int queues)
    {
        long need = (long)Math.Max(1, devices) * queues * (2 * Descriptors + 2 * 256) + 1024;
        uint n = 4095;
        while (n < need && n < (1u << 24)) n = n * 2 + 1;
        return n;
    }

    private static IEnumerable<string> OptionValues(IReadOnlyList<string> args, string opt)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == opt && i + 1 < args.Count) yield return args[++i];
            else if (args[i].StartsWith(opt + "=", StringComparison.Ordinal)) yield return args[i][(opt.Length + 1)..];
        }
    }

    /// <summary>True when the interface has a DPDK port.</summary>
    public bool Serves(string iface) => _byInterface.ContainsKey(iface);

    /// <summary>The device serving the interface; a <see cref="DpdkException"/> when none does.</summary>
    public EthDev DeviceFor(string iface) => _byInterface.TryGetValue(iface, out var d) ? d
        : throw new DpdkException($"DPDK: no port serves interface {iface}");

    /// <summary>Queue <paramref name="queue"/> of the interface's device as an IPort numbered <paramref name="id"/>.</summary>
    public DpdkPort OpenPort(ushort id, string iface, int queue) => new(id, DeviceFor(iface), (ushort)queue, iface);

    /// <summary>One line for the log: DPDK device, driver, port id, link.</summary>
    public string Describe(string iface)
    {
        var d = DeviceFor(iface);
        var link = d.Link;
        return $"dpdk {d.Name} (driver {d.Driver}, port {d.PortId}, {d.Queues} queue(s)), link {(link.Up ? "up" : "down")}";
    }

    /// <summary>
    /// Makes the calling thread a DPDK lcore (rte_thread_register) so mempool caches are per thread; call on each
    /// forwarding thread before its first burst, <see cref="UnregisterThread"/> when it ends.
    /// </summary>
    public void RegisterThread()
    {
        if (Rte.rte_thread_register() < 0)
            throw new DpdkException($"DPDK: rte_thread_register failed: {Rte.StrError(Rte.Errno())} (too many threads for RTE_MAX_LCORE?)");
        lock (_registered) _registered.Add(Environment.CurrentManagedThreadId);
    }

    /// <summary>Undoes <see cref="RegisterThread"/> for the calling thread (nothing when it was not registered).</summary>
    public void UnregisterThread()
    {
        lock (_registered) if (!_registered.Remove(Environment.CurrentManagedThreadId)) return;
        Rte.rte_thread_unregister();
    }

    /// <summary>Closes every port, frees the pool, cleans the EAL up (and its runtime files).</summary>
    public void Dispose()
    {
        foreach (var d in _devices) d.Dispose();
        _devices.Clear();
        _byInterface.Clear();
        _pool?.Dispose();
        _pool = null;
        _eal?.Dispose();
        _eal = null;
    }
}
