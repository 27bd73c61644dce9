using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Dpdk;
using Dataplane.Host.Backends.Lanes;
using Dataplane.Host.Run;
using Dataplane.Linux;

namespace Dataplane.Host.Backends.Dpdk;

/// <summary>
/// `--backend dpdk`: the EAL, the mbuf pool and one started ethdev per interface, fixed at start (see
/// <see cref="DpdkSession"/> for the mapping); pods that appear later are not served by this backend. Each worker
/// registers with the EAL while it runs (an lcore id, for the mempool caches). Its ports have no descriptor to
/// block on, so interrupt polling falls back to adaptive.
/// </summary>
internal sealed class DpdkBackend : LaneBackend
{
    public const string Id = "dpdk";

    private readonly DpdkSession _session;

    private DpdkBackend(RunOptions options, DatapathSnapshot first, TextWriter log, DpdkSession session)
        : base(options, first, log, canBlock: false, defaultCoalesceMicros: 0, session.RegisterThread, session.UnregisterThread)
    {
        _session = session;
    }

    public static DpdkBackend Start(RunOptions options, DatapathSnapshot first, TextWriter log)
    {
        var session = DpdkSession.Start(Dataplane.Dpdk.Eal.EalArgs.Split(options.PacketIo.DpdkArgs),
            first.Ports.Select(p => p.Name), Math.Max(1, options.Queues), NetDevice.Exists);
        log.WriteLine($"run: dpdk EAL {string.Join(' ', session.Eal.Args)}; {session.Pool.Count} mbufs");
        try { return new DpdkBackend(options, first, log, session); }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public override string Name => Id;

    protected override string HostFirewallGap =>
        "its ports belong to DPDK, not to the node's stack, so the host's own traffic never passes them";
    public override string Mode => "dpdk, rte_eth_fp_ops bursts";

    protected internal override IPort Open(int queue, PortInfo p, out int fd, out string mode)
    {
        fd = -1; // no descriptor: the idle waiter just sleeps (ppoll ignores negative descriptors)
        mode = _session.Describe(p.Name);
        return _session.OpenPort(p.Id, p.Name, queue);
    }

    /// <summary>A device of the session serves it (a vdev over the kernel interface, or a bound NIC).</summary>
    protected internal override bool Exists(string name) => _session.Serves(name);

    protected internal override bool CannotOpen(Exception e) => e is DpdkException || base.CannotOpen(e);

    /// <summary>The drivers' own counters per DPDK device (rx missed = ring overruns, rx no mbuf = pool exhausted).</summary>
    public override void PrintExit(TextWriter log)
    {
        foreach (var d in _session.Devices)
        {
            var s = d.Stats();
            log.WriteLine($"exit:   dpdk {d.Name}: rx {s.RxPackets}, tx {s.TxPackets}, rx-missed {s.RxMissed}, rx-errors {s.RxErrors}, tx-errors {s.TxErrors}, rx-no-mbuf {s.RxNoMbuf}");
        }
        log.WriteLine($"exit:   dpdk mbufs available {_session.Pool.Available} of {_session.Pool.Count}");
        log.Flush();
    }

    protected override void DisposeBackend() => _session.Dispose();
}
