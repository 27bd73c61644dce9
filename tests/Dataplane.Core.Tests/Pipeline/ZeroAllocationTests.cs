using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Pipeline;

/// <summary>The datapath allocates nothing per packet: checked with the runtime's own allocation counter.</summary>
public class ZeroAllocationTests
{
    [Fact]
    public unsafe void ForwardingAllocatesNothing()
    {
        using var node = new TestNode();
        byte[][] frames =
        [
            Eth4(Ipv4("198.19.1.1", "198.18.100.10", 6, Tcp(1, 80)), vlans: [5]),
            Eth6(Ipv6("2001:db8:9::1", "fd00:100::10", 17, Udp(1, 2))),
            Eth4(Ipv4("198.18.100.10", "198.19.1.1", 17, Udp(1, 2))),
            Ethernet(0xFFFFFFFFFFFF, TestNode.PodMac, 0x0806, ArpRequest(TestNode.PodMac, "198.18.100.10", "198.18.100.1")),
            new byte[20],
        ];
        var batch = node.Batch;
        for (int i = 0; i < 256; i++) node.Pool.TryLoad(ref batch[i], frames[i % frames.Length], (ushort)(i % 5 == 2 ? 1 : 0));
        batch.Count = 256;
        var bufs = new (nint Data, ushort Len)[256];
        for (int i = 0; i < 256; i++) bufs[i] = ((nint)batch[i].Data, batch[i].Length);

        ulong passes = 0;
        void Pass()
        {
            passes++;
            for (int i = 0; i < 256; i++)
            {
                var f = frames[i % frames.Length];
                fixed (byte* src = f) Buffer.MemoryCopy(src, (void*)bufs[i].Data, f.Length, f.Length);
                batch[i].Data = (byte*)bufs[i].Data;
                batch[i].Length = bufs[i].Len;
                batch[i].Headroom = Core.Packets.PacketPool.DefaultHeadroom;
                batch[i].ResetForRx(batch[i].InPort);
            }
            node.Pipeline.Process(batch, node.Context);
            while (node.Context.Flows!.TryRead(out _)) { }
        }

        for (int i = 0; i < 10; i++) Pass();   // JIT and tiering
        Allocations.AssertSteadyStateAllocatesNothing(Pass, 1000);
        // Every pass was a full batch through the pipeline (how many windows the measurement took varies with load).
        Assert.Equal(passes * 256, node.Context.Counters.RxPackets);
    }
}
