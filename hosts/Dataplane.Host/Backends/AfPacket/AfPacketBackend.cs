using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Backends.Lanes;
using Dataplane.Host.Run;
using Dataplane.Linux;
using Dataplane.Linux.AfPacket;

namespace Dataplane.Host.Backends.AfPacket;

/// <summary>
/// `--backend af_packet`, the portable default: a TPACKET_V3 rx ring and sendmmsg tx per (interface, queue); with
/// several queues the sockets of an interface form a fanout group (hash), one per worker. Interrupt polling needs
/// no coalescing of its own: the kernel signals once per retired block, and the block timeout already coalesces.
/// </summary>
internal sealed class AfPacketBackend(RunOptions options, DatapathSnapshot first, TextWriter log)
    : LaneBackend(options, first, log, canBlock: true, defaultCoalesceMicros: 0)
{
    public const string Id = "af_packet";

    public override string Name => Id;

    protected override string HostFirewallGap =>
        "the kernel receives its own copy of every frame whatever the datapath decides, and sends without it";
    public override string Mode => "af_packet, tpacket_v3";

    // Pods come and go while the node forwards: their sockets are made ahead and closed behind, off the request.
    private readonly AfPacketSocketPool _sockets = new(new AfPacketOptions(), spare: 2, log);

    protected internal override IPort Open(int queue, PortInfo p, out int fd, out string mode)
    {
        int queues = Workers;
        var port = new AfPacketPort(p.Id, p.Name,
            _sockets.Options with { FanoutGroup = queues > 1 ? (ushort)(NetDevice.IndexOf(p.Name) & 0xffff) : (ushort)0 }, _sockets);
        fd = port.Fd;
        mode = $"af_packet tpacket_v3 rx ring, sendmmsg tx{(port.QdiscBypass ? ", qdisc bypass" : "")}{(queues > 1 ? ", fanout hash" : "")}";
        return port;
    }

    protected override void PollKernelStats(IPort port) => (port as AfPacketPort)?.PollKernelStats();

    protected internal override void Retire(int queue, IPort port) => _sockets.Retire(port);

    /// <summary>After the ports were retired: waits until the pool's thread closed them, then closes the spare sockets.</summary>
    protected override void DisposeBackend() => _sockets.Dispose();
}
