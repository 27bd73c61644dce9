using System.Runtime.InteropServices;
using Dataplane.Dpdk.Interop;

namespace Dataplane.Dpdk.Ethdev;

/// <summary>Counters from <c>rte_eth_stats_get</c>.</summary>
public readonly record struct EthStats(ulong RxPackets, ulong TxPackets, ulong RxBytes, ulong TxBytes,
    ulong RxMissed, ulong RxErrors, ulong TxErrors, ulong RxNoMbuf);

/// <summary>Link state from <c>rte_eth_link_get_nowait</c>.</summary>
public readonly record struct LinkStatus(bool Up, uint SpeedMbps, bool FullDuplex);

/// <summary>
/// One DPDK ethdev, configured with N rx and tx queue pairs (defaults otherwise: zeroed
/// rte_eth_conf, driver-default queue configs), receive queues filled from an <see cref="MbufPool"/>, promiscuous,
/// started. Every failing call is a <see cref="DpdkException"/> naming the port, the call and DPDK's reason.
/// </summary>
public sealed unsafe class EthDev : IDisposable
{
    private static rte_eth_fp_ops* s_fpOps;
    private bool _started, _closed;

    /// <summary>Configures port <paramref name="portId"/> with <paramref name="queues"/> rx/tx queue pairs filled from <paramref name="pool"/> and starts it; on failure everything is undone and a <see cref="DpdkException"/> says why.</summary>
    public EthDev(ushort portId, MbufPool pool, int queues = 1, ushort rxDescriptors = 1024, ushort txDescriptors = 1024)
    {
        PortId = portId;
        Pool = pool;
        Name = NameOf(portId);
        try { Setup(pool, queues, rxDescriptors, txDescriptors); }
        catch { Dispose(); throw; }
        byte* mac = stackalloc byte[6];
        Mac = Rte.rte_eth_macaddr_get(portId, mac) == 0 ? new ReadOnlySpan<byte>(mac, 6).ToArray() : new byte[6];
    }

    /// <summary>The pool the receive queues are filled from (and frames of other owners are copied into for transmit).</summary>
    public MbufPool Pool { get; }

    private void Setup(MbufPool pool, int queues, ushort rxDescriptors, ushort txDescriptors)
    {
        ushort portId = PortId;
        rte_eth_dev_info info = default;
        Check(Rte.rte_eth_dev_info_get(portId, &info), "rte_eth_dev_info_get");
        Driver = info.driver_name == null ? "" : Marshal.PtrToStringUTF8((nint)info.driver_name) ?? "";
        if (queues < 1 || queues > info.max_rx_queues || queues > info.max_tx_queues)
            throw new DpdkException($"DPDK port {portId} ({Name}, {Driver}): {queues} queue(s) asked, the driver has at most {info.max_rx_queues} rx / {info.max_tx_queues} tx" +
                (Driver.Contains("af_packet", StringComparison.Ordinal) ? " (net_af_packet: add qpairs=N to the --vdev)" : ""));
        Queues = queues;
        byte* conf = stackalloc byte[RteSizes.EthConf];
        new Span<byte>(conf, RteSizes.EthConf).Clear();
        Check(Rte.rte_eth_dev_configure(portId, (ushort)queues, (ushort)queues, conf), "rte_eth_dev_configure");
        ushort nrx = rxDescriptors, ntx = txDescriptors;
        Check(Rte.rte_eth_dev_adjust_nb_rx_tx_desc(portId, &nrx, &ntx), "rte_eth_dev_adjust_nb_rx_tx_desc");
        int socket = Rte.rte_eth_dev_socket_id(portId);
        uint sock = socket < 0 ? unchecked((uint)RteSizes.SocketIdAny) : (uint)socket;
        for (ushort q = 0; q < queues; q++)
        {
            Check(Rte.rte_eth_rx_queue_setup(portId, q, nrx, sock, null, pool.Handle), $"rte_eth_rx_queue_setup(queue {q}, {nrx} descriptors)");
            Check(Rte.rte_eth_tx_queue_setup(portId, q, ntx, sock, null), $"rte_eth_tx_queue_setup(queue {q}, {ntx} descriptors)");
        }
        // Not every driver has a promiscuous mode (net_ring, net_null): that is fine.
        Rte.rte_eth_promiscuous_enable(portId);
        Check(Rte.rte_eth_dev_start(portId), "rte_eth_dev_start");
        _started = true;
    }

    /// <summary>DPDK's port id.</summary>
    public ushort PortId { get; }
    /// <summary>DPDK's device name (e.g. net_af_packet0, 0000:03:00.0).</summary>
    public string Name { get; }
    /// <summary>The driver's name (e.g. net_af_packet, net_af_xdp, net_ring).</summary>
    public string Driver { get; private set; } = "";
    /// <summary>The number of rx/tx queue pairs configured.</summary>
    public int Queues { get; private set; }
    /// <summary>The port's MAC address (zeros when the driver has none).</summary>
    public byte[] Mac { get; }

    /// <summary>The DPDK port id of device <paramref name="name"/> (e.g. net_af_packet0, 0000:03:00.0), or null.</summary>
    public static ushort? FindPort(string name)
    {
        ushort id;
        return Rte.rte_eth_dev_get_port_by_name(name, &id) == 0 ? id : null;
    }

    /// <summary>Names of every DPDK port, in port-id order.</summary>
    public static List<string> AllPortNames()
    {
        var names = new List<string>();
        byte* buf = stackalloc byte[RteSizes.EthNameMax];
        for (ushort p = 0; p < RteSizes.MaxEthPorts; p++)
        {
            if (Rte.rte_eth_dev_get_name_by_port(p, buf) == 0) names.Add(Marshal.PtrToStringUTF8((nint)buf) ?? "");
        }
        return names;
    }

    /// <summary>DPDK's name of port <paramref name="portId"/>, or "portN" when it has none.</summary>
    public static string NameOf(ushort portId)
    {
        byte* buf = stackalloc byte[RteSizes.EthNameMax];
        return Rte.rte_eth_dev_get_name_by_port(portId, buf) == 0 ? Marshal.PtrToStringUTF8((nint)buf) ?? "" : $"port{portId}";
    }

    /// <summary>The link state now (not waiting for autonegotiation); default when the driver cannot tell.</summary>
    public LinkStatus Link
    {
        get
        {
            rte_eth_link l = default;
            return Rte.rte_eth_link_get_nowait(PortId, &l) == 0 ? new LinkStatus(l.Up, l.link_speed, l.FullDuplex) : default;
        }
    }

    /// <summary>The device's counters (rte_eth_stats_get): packets, bytes, missed, errors, mbuf allocation failures.</summary>
    public EthStats Stats()
    {
        rte_eth_stats s = default;
        Check(Rte.rte_eth_stats_get(PortId, &s), "rte_eth_stats_get");
        return new EthStats(s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf);
    }

    /// <summary>Zeroes the device's counters.</summary>
    public void ResetStats() => Rte.rte_eth_stats_reset(PortId);

    /// <summary>
    /// This port's entry in the exported <c>rte_eth_fp_ops</c> array: what the header's inline rx/tx burst calls.
    /// Valid while the port is started (DPDK points it at dummy functions when stopped).
    /// </summary>
    internal rte_eth_fp_ops* FastPathOps
    {
        get
        {
            if (!_started) throw new InvalidOperationException($"DPDK port {Name} is not started");
            if (s_fpOps == null)
                s_fpOps = (rte_eth_fp_ops*)NativeLibrary.GetExport(NativeLibrary.Load(RteLibs.EthDev), "rte_eth_fp_ops");
            return s_fpOps + PortId;
        }
    }

    private void Check(int rc, string call)
    {
        if (rc < 0)
            throw new DpdkException($"DPDK port {PortId} ({Name}{(Driver is { Length: > 0 } ? ", " + Driver : "")}): {call} failed: {Rte.StrError(-rc)} ({rc})");
    }

    /// <summary>Stops and closes the port (queues release their mbufs to the pool).</summary>
    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        if (_started) { Rte.rte_eth_dev_stop(PortId); _started = false; }
        Rte.rte_eth_dev_close(PortId);
    }
}
