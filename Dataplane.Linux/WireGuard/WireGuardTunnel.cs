using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Peers;
using Dataplane.WireGuard.Transport;

namespace Dataplane.Linux.WireGuard;

/// <summary>
/// A userspace WireGuard interface the way wireguard-go offers one: a TUN device carrying the inner packets and
/// a UDP socket carrying the messages, both made in a given network namespace, with two pump threads — TUN →
/// encrypt batch → sendmmsg, and recvmmsg → decrypt batch → TUN. The protocol is <see cref="WireGuardDevice"/>.
/// </summary>
public sealed unsafe class WireGuardTunnel : IDatagramSender, IDisposable
{
    public const int BatchSize = 64;
    /// <summary>Room per packet: an inner packet up to 4 KiB behind the transport header, plus padding and tag.</summary>
    private const int BufferSize = 4096 + WgPacket.MessageHeadroom + WgPacket.MessageTailroom;

    private readonly TunDevice _tun;
    private readonly UdpBatchSocket _udp;
    private readonly Thread _outbound, _inbound;
    private volatile bool _stop;
    private long _tunWriteErrors;

    private WireGuardTunnel(TunDevice tun, UdpBatchSocket udp, WgKey privateKey, WireGuardTimers? timers)
    {
        _tun = tun;
        _udp = udp;
        Device = new WireGuardDevice(privateKey, this, timers);
        _outbound = new Thread(Outbound) { IsBackground = true, Name = $"wg-out-{tun.Name}" };
        _inbound = new Thread(Inbound) { IsBackground = true, Name = $"wg-in-{tun.Name}" };
        _outbound.Start();
        _inbound.Start();
    }

    /// <summary>Creates the TUN device <paramref name="name"/> and binds UDP <paramref name="listenPort"/> inside <paramref name="netns"/> (null: ours).</summary>
    public static WireGuardTunnel Create(string name, WgKey privateKey, ushort listenPort, string? netns = null, WireGuardTimers? timers = null)
    {
        (TunDevice, UdpBatchSocket) Make()
        {
            var tun = new TunDevice(name);
            try { return (tun, new UdpBatchSocket(listenPort, BatchSize)); }
            catch { tun.Dispose(); throw; }
        }
        var (tun, udp) = netns is null ? Make() : NetNamespace.Run(netns, Make);
        return new WireGuardTunnel(tun, udp, privateKey, timers);
    }

    public WireGuardDevice Device { get; }
    public string Name => _tun.Name;
    public ushort ListenPort => _udp.Port;
    public long TunWriteErrors => Interlocked.Read(ref _tunWriteErrors);

    void IDatagramSender.Send(ReadOnlySpan<byte> datagram, in WgEndpoint to) => _udp.SendTo(datagram, to);

    private static WgPacket[] NewBatch(out byte* memory)
    {
        memory = (byte*)NativeMemory.AlignedAlloc(BatchSize * BufferSize, 64);
        var batch = new WgPacket[BatchSize];
        for (int i = 0; i < BatchSize; i++) batch[i].Buffer = memory + i * BufferSize;
        return batch;
    }

    private void Outbound()
    {
        var batch = NewBatch(out byte* memory);
        try
        {
            while (!_stop)
            {
                if (!Wait(_tun.Fd)) continue;
                int n = 0;
                while (n < BatchSize)
                {
                    ref var p = ref batch[n];
                    p.Capacity = BufferSize;
                    p.Offset = WgPacket.MessageHeadroom;
                    int len = _tun.Read(p.Buffer + p.Offset, BufferSize - WgPacket.MessageHeadroom - WgPacket.MessageTailroom);
                    if (len <= 0) { if (len < 0) _stop = true; break; }
                    p.Length = len;
                    n++;
                }
                if (n == 0) continue;
                var span = batch.AsSpan(0, n);
                Device.EncryptBatch(span);
                _udp.SendBatch(span);
            }
        }
        finally { NativeMemory.AlignedFree(memory); }
    }

    private void Inbound()
    {
        var batch = NewBatch(out byte* memory);
        try
        {
            while (!_stop)
            {
                if (!Wait(_udp.Fd)) continue;
                for (int i = 0; i < BatchSize; i++) { batch[i].Capacity = BufferSize; batch[i].Offset = 0; }
                int n = _udp.Receive(batch);
                if (n < 0) { _stop = true; break; }
                if (n == 0) continue;
                var span = batch.AsSpan(0, n);
                Device.DecryptBatch(span);
                foreach (ref var p in span)
                    if (p.Verdict == WgVerdict.Deliver && !_tun.Write(p.Buffer + p.Offset, p.Length)) Interlocked.Increment(ref _tunWriteErrors);
            }
        }
        finally { NativeMemory.AlignedFree(memory); }
    }

    /// <summary>Waits up to 100 ms for the descriptor to be readable, so a stop is noticed promptly.</summary>
    private static bool Wait(int fd)
    {
        var pfd = new pollfd { fd = fd, events = LibC.POLLIN };
        return LibC.poll(&pfd, 1, 100) > 0;
    }

    public void Dispose()
    {
        _stop = true;
        _outbound.Join(TimeSpan.FromSeconds(5));
        _inbound.Join(TimeSpan.FromSeconds(5));
        Device.Dispose();
        _udp.Dispose();
        _tun.Dispose();
    }
}
