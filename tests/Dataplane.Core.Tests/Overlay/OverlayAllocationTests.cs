using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Overlay;

/// <summary>Encap, decap, SID behaviours and ICMP too-big allocate nothing per packet.</summary>
public class OverlayAllocationTests
{
    [Fact]
    public unsafe void OverlayPathsAllocateNothing()
    {
        using var node = new OverlayNode();
        ulong r = OverlayNode.RouterMac, w = OverlayNode.WebMac;
        var inner = Eth4(Ipv4("198.18.101.20", "198.18.100.10", 17, Udp(2, 1)), dst: r);
        byte[][] frames =
        [
            Eth4(Ipv4("198.18.100.10", "198.18.101.20", 17, Udp(1, 2)), r, w),                                  // VXLAN encap
            Eth4(Ipv4("198.18.100.10", "198.18.102.7", 6, Tcp(1, 80)), r, w),                                   // SRv6 encap
            Eth4(Ipv4("198.18.0.2", "198.18.0.1", 17, Udp(1, 8472, Vxlan(2, inner))), OverlayNode.Eth0Mac),      // VXLAN decap
            Eth6(Ipv6("2001:db8:0:1::3", "2001:db8:a::4", 4, Ipv4("198.18.102.7", "198.18.100.10", 17, Udp(7, 8)), 64,
                Srh(0, "2001:db8:a::4")), OverlayNode.Eth0Mac),                                                    // End.DT4
            Eth4(Ipv4("198.18.100.10", "198.18.101.20", 17, Udp(1, 2, new byte[1480])), r, w),                   // too big
        ];
        ushort[] ports = [1, 1, 0, 0, 1];
        var batch = node.Batch;
        const int n = 250;
        var bufs = new nint[n];
        for (int i = 0; i < n; i++)
        {
            Assert.True(node.Pool.TryLoad(ref batch[i], frames[i % frames.Length], ports[i % frames.Length]));
            bufs[i] = (nint)batch[i].Data;
        }
        batch.Count = n;

        void Pass()
        {
            for (int i = 0; i < n; i++)
            {
                var f = frames[i % frames.Length];
                fixed (byte* src = f) Buffer.MemoryCopy(src, (void*)bufs[i], f.Length, f.Length);
                batch[i].Data = (byte*)bufs[i];
                batch[i].Length = (ushort)f.Length;
                batch[i].Headroom = Core.Packets.PacketPool.DefaultHeadroom;
                batch[i].Capacity = (ushort)(Core.Packets.PacketPool.DefaultFrameSize - Core.Packets.PacketPool.DefaultHeadroom);
                batch[i].ResetForRx(ports[i % frames.Length]);
            }
            node.Pipeline.Process(batch, node.Context);
        }

        for (int i = 0; i < 10; i++) Pass();
        for (int i = 0; i < n; i++) Assert.Equal(Core.Packets.PacketVerdict.Tx, batch[i].Verdict);
        Allocations.AssertSteadyStateAllocatesNothing(Pass, 1000);
    }
}
