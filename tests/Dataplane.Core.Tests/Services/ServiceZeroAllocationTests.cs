using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Fixtures.ServiceYaml;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Services;

/// <summary>Service selection (Maglev, affinity), DNAT, SNAT port allocation and reverse NAT allocate nothing per packet.</summary>
public sealed class ServiceZeroAllocationTests
{
    [Fact]
    public unsafe void NewAndEstablishedServiceAndMasqueradeTrafficAllocatesNothing()
    {
        var sticky = Service("sticky", "  clusterIP: 198.18.50.11\n  sessionAffinity: ClientIP\n  ports: [{name: http, port: 80}]");
        var np = Service("np", "  type: NodePort\n  clusterIP: 198.18.50.12\n  ports: [{name: http, port: 80, nodePort: 30080}]");
        using var c = new ServiceCluster(Docs(Web, WebSlice("web"), sticky, WebSlice("sticky"), np, WebSlice("np")),
            conntrackFlows: 1 << 19, dataplaneSpecExtra: "  masquerade: {enabled: true}\n");
        var client = c.From("prod/client");
        byte[][] frames =
        [
            Eth4(Ipv4("10.0.1.30", "198.18.50.10", 6, Tcp(1, 80)), RouterMac(), client.Mac),
            Eth4(Ipv4("10.0.1.30", "198.18.50.11", 6, Tcp(1, 80)), RouterMac(), client.Mac),
            Eth4(Ipv4("10.0.1.30", "198.18.9.9", 6, Tcp(1, 443)), RouterMac(), client.Mac),
            Eth4(Ipv4("10.0.1.30", "198.18.9.9", 17, Udp(1, 53)), RouterMac(), client.Mac),
            Eth4(Ipv4("198.18.7.7", "198.18.0.1", 6, Tcp(1, 30080)), ServiceCluster.Eth0Mac, ServiceCluster.GatewayMac),
        ];
        ushort[] ports = [client.Port, client.Port, client.Port, client.Port, 0];
        var batch = c.Batch;
        for (int i = 0; i < 256; i++) c.Pool.TryLoad(ref batch[i], frames[i % frames.Length], ports[i % frames.Length]);
        batch.Count = 256;
        var bufs = new nint[256];
        for (int i = 0; i < 256; i++) bufs[i] = (nint)batch[i].Data;
        int pass = 0;

        void Pass()
        {
            for (int i = 0; i < 256; i++)
            {
                var f = frames[i % frames.Length];
                byte* d = (byte*)bufs[i];
                fixed (byte* src = f) Buffer.MemoryCopy(src, d, f.Length, f.Length);
                // A new source port per packet and pass (until they wrap): mostly new connections.
                ushort sport = (ushort)(1024 + (pass * 256 + i) % 60000);
                d[34] = (byte)(sport >> 8); d[35] = (byte)sport;
                batch[i].Data = d;
                batch[i].Length = (ushort)f.Length;
                batch[i].Headroom = Core.Packets.PacketPool.DefaultHeadroom;
                batch[i].ResetForRx(ports[i % frames.Length]);
            }
            pass++;
            c.Pipeline.Process(batch, c.Context);
        }

        for (int i = 0; i < 10; i++) Pass();
        Allocations.AssertSteadyStateAllocatesNothing(Pass, 300);
        Assert.True(c.Context.Counters.TxPackets > 600ul * 200, $"tx {c.Context.Counters.TxPackets}");
    }

    private static ulong RouterMac() => ServiceCluster.RouterMac;
}
