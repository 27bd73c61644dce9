using Dataplane.Core.Packets;
using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Pipeline;

/// <summary>
/// Seeded mutation fuzzing of the whole pipeline: truncations, bit flips, random lengths and random bytes
/// over valid seeds of every protocol. Nothing may throw, and every input must come out as exactly one of
/// transmitted, handed to the host, or a counted drop.
/// </summary>
public class MalformedInputTests
{
    private static readonly byte[][] Seeds =
    [
        Eth4(Ipv4("198.19.1.1", "198.18.100.10", 6, Tcp(1, 80, payload: 20))),
        Eth4(Ipv4("198.18.100.10", "198.19.1.1", 17, Udp(5, 53, new byte[12])), vlans: [7]),
        Eth4(Ipv4("198.19.1.1", "198.18.100.10", 1, Icmp(8, 0)), vlans: [1, 2]),
        Eth4(Ipv4("198.19.1.1", "198.18.0.1", 17, Udp(5, 8472, PacketBuilder.Vxlan(3, Eth4(Ipv4("198.18.7.1", "198.18.7.2", 6, Tcp(1, 2))))))),
        Eth4(Ipv4("198.19.1.1", "198.18.100.10", 6, Tcp(1, 80), options: [1, 1, 1, 0])),
        Eth6(Ipv6("2001:db8::1", "fd00:100::10", 6, Tcp(1000, 443), ext: [Options(0), Srh(1, "fd00:100::10", "2001:db8::9"), Fragment(0, true)])),
        Eth6(Ipv6("fd00:100::10", "ff02::1:ff00:1", 58, NeighborSolicitation("fd00:100::1", TestNode.PodMac), hopLimit: 255)),
        Eth6(Ipv6("2001:db8::1", "fd00:100::10", 58, Icmp6(128, 0))),
        Ethernet(0xFFFFFFFFFFFF, TestNode.PodMac, 0x0806, ArpRequest(TestNode.PodMac, "198.18.100.10", "198.18.100.1")),
    ];

    [Fact]
    public void HundredThousandMutatedPacketsAreAllAccountedFor()
    {
        const int total = 100_000;
        var rng = new Random(20261126);
        using var node = new TestNode();
        var batch = new List<(byte[], ushort)>(256);
        ulong sent = 0;
        for (int i = 0; i < total; i++)
        {
            batch.Add((Mutate(Seeds[rng.Next(Seeds.Length)], rng), (ushort)rng.Next(0, 3)));
            if (batch.Count == 256 || i == total - 1)
            {
                node.RunMany(batch);
                sent += (ulong)batch.Count;
                batch.Clear();
                while (node.Context.Flows!.TryRead(out _)) { }
            }
        }
        var c = node.Context.Counters;
        Assert.Equal(sent, c.RxPackets);
        Assert.Equal(c.RxPackets, c.TxPackets + c.LocalPackets + c.TotalDrops);
        Assert.True(c.TotalDrops > 10_000, $"mutations should produce many drops, got {c.TotalDrops}");
        Assert.True(c.TxPackets > 1_000, $"some mutations should still forward, got {c.TxPackets}");
        Assert.True(c.Drops[(int)Drops.DropReason.InvalidPacketDropped] > 0);
        Assert.True(c.Drops[(int)Drops.DropReason.InvalidL3Checksum] > 0);
    }

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = (byte[])seed.Clone();
        switch (rng.Next(6))
        {
            case 0: return b[..rng.Next(0, b.Length + 1)];                       // truncation
            case 1:                                                               // bit flips
                for (int k = rng.Next(1, 4); k > 0; k--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 2:                                                               // random length field values
            {
                int at = 14 + rng.Next(Math.Max(1, b.Length - 15));
                b[Math.Min(at, b.Length - 1)] = (byte)rng.Next(256);
                return b;
            }
            case 3:                                                               // random garbage of random length
            {
                var g = new byte[rng.Next(0, 200)];
                rng.NextBytes(g);
                return g;
            }
            case 4:                                                               // random tail after valid headers
            {
                var g = new byte[b.Length + rng.Next(0, 64)];
                b.CopyTo(g, 0);
                rng.NextBytes(g.AsSpan(Math.Min(b.Length, 34)));
                return g;
            }
            default: return b;                                                    // unmodified
        }
    }
}
