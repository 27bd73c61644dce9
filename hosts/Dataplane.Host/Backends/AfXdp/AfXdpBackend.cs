using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Backends.Lanes;
using Dataplane.Host.Run;
using Dataplane.Linux;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Host.Backends.AfXdp;

/// <summary>
/// `--backend af_xdp`: an AF_XDP socket per (interface, queue) behind one XDP program (and XSKMAP) per interface.
/// Each worker has one UMEM shared by all its sockets, so forwarding between ports is zero copy; the lane's worker
/// uses that UMEM's free list without locks, so a socket is opened or closed only while its worker holds still.
/// Interrupt polling coalesces 50 µs by default: in generic mode the sockets signal every packet, and without it
/// a worker would wake every few packets.
/// </summary>
internal sealed class AfXdpBackend : LaneBackend
{
    public const string Id = "af_xdp";
    /// <summary>UMEM frames per port (fill + rx + tx + completion rings of 2048) and ports of room for pods attached later.</summary>
    private const int FramesPerPort = 8192, SparePorts = 4;

    private readonly XdpUmem[] _umems;
    private readonly Dictionary<string, XdpProgram> _programs = new(StringComparer.Ordinal);
    private readonly XdpAttachMode _attach;

    public AfXdpBackend(RunOptions options, DatapathSnapshot first, TextWriter log)
        : base(options, first, log, canBlock: true, defaultCoalesceMicros: 50)
    {
        _attach = options.PacketIo.XdpMode;
        int present = first.Ports.Count(p => NetDevice.Exists(p.Name));
        _umems = new XdpUmem[Workers];
        for (int q = 0; q < _umems.Length; q++) _umems[q] = new XdpUmem((present + SparePorts) * FramesPerPort);
    }

    public override string Name => Id;

    protected override string HostFirewallGap =>
        "its XDP program hands every frame of its interfaces to the AF_XDP sockets, none to the kernel (the node's stack receives nothing through them), and what the stack sends does not pass the datapath";
    public override string Mode => $"af_xdp, xdp-mode {_attach.ToString().ToLowerInvariant()}";

    protected internal override IPort Open(int queue, PortInfo p, out int fd, out string mode)
    {
        // One XDP program (and XSKMAP) per interface, shared by its queues' sockets.
        if (!_programs.TryGetValue(p.Name, out var program))
            _programs[p.Name] = program = new XdpProgram(NetDevice.IndexOf(p.Name), _attach);
        var xsk = new AfXdpPort(p.Id, p.Name, _umems[queue], new AfXdpOptions { Queue = (uint)queue }, program);
        fd = xsk.Fd;
        mode = xsk.Describe();
        return xsk;
    }

    /// <summary>Sockets fill or drain their rings from the lane's UMEM when opened and closed: only while that worker holds still.</summary>
    protected internal override void OnLane(int queue, Action action) => LaneAt(queue).WhilePaused(action);

    protected internal override void Closed(string name)
    {
        if (_programs.Remove(name, out var program)) program.Dispose();
    }

    protected override void PollKernelStats(IPort port) => (port as AfXdpPort)?.PollKernelStats();

    protected override void DisposeBackend()
    {
        foreach (var umem in _umems) umem.Dispose();
    }
}
