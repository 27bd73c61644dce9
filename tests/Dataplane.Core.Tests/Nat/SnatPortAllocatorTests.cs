using System.Buffers.Binary;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Drops;
using Dataplane.Core.Nat;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Tests.Support;

namespace Dataplane.Core.Tests.Nat;

/// <summary>
/// SNAT port allocation on its own: a port whose reply tuple is free, the original port kept when it is in
/// range, every port of a small range handed out once, then 167, and the packet's source rewritten.
/// </summary>
public sealed unsafe class SnatPortAllocatorTests
{
    private const uint NodeAddress = 0xC6120001;            // 198.18.0.1
    private const uint World = 0xC6120909;                  // 198.18.9.9

    private static void WithPackets(int count, Action<PacketMeta[]> body)
    {
        using var pool = new PacketPool(count, 2048, 256);
        var metas = new PacketMeta[count];
        for (int i = 0; i < count; i++)
        {
            var frame = PacketBuilder.Eth4(PacketBuilder.Ipv4("10.0.1.30", "198.18.9.9", 6, PacketBuilder.Tcp((ushort)(40000 + i), 443)));
            Assert.True(pool.TryLoad(ref metas[i], frame, (ushort)i));
            PacketParser.Parse(ref metas[i], 0);
        }
        body(metas);
    }

    private static (uint Src, ushort Port) SourceOnWire(in PacketMeta p)
    {
        var bytes = new ReadOnlySpan<byte>(p.Data, p.Length);
        return (BinaryPrimitives.ReadUInt32BigEndian(bytes[(p.L3Offset + 12)..]), BinaryPrimitives.ReadUInt16BigEndian(bytes[p.L4Offset..]));
    }

    [Fact]
    public void OriginalPortIsKeptWhenInRangeAndTheSourceIsRewritten()
    {
        WithPackets(1, m =>
        {
            using var ct = new ConntrackTable(64);
            var key = ConntrackStage.KeyOf(m[0]);
            Assert.True(SnatPortAllocator.TryAllocate(ref m[0], ct, key, NodeAddress, 32768, 65535, 100, out uint e));
            Assert.Equal((NodeAddress, (ushort)40000), SourceOnWire(m[0]));
            Assert.True(ct.TryLookup(new CtKey(World, NodeAddress, 443, 40000, 6, 4), out uint r, out bool reply) && reply && r == e);
        });
    }

    [Fact]
    public void SmallRangeIsHandedOutOncePerPortThenDrops167()
    {
        WithPackets(3, m =>
        {
            using var ct = new ConntrackTable(64);
            var ports = new HashSet<ushort>();
            for (int i = 0; i < 2; i++)
            {
                Assert.True(SnatPortAllocator.TryAllocate(ref m[i], ct, ConntrackStage.KeyOf(m[i]), NodeAddress, 33000, 33001, 100, out _));
                var (src, port) = SourceOnWire(m[i]);
                Assert.Equal(NodeAddress, src);
                Assert.InRange(port, (ushort)33000, (ushort)33001);
                ports.Add(port);
            }
            Assert.Equal(2, ports.Count);
            Assert.False(SnatPortAllocator.TryAllocate(ref m[2], ct, ConntrackStage.KeyOf(m[2]), NodeAddress, 33000, 33001, 100, out _));
            Assert.Equal(PacketVerdict.Drop, m[2].Verdict);
            Assert.Equal(DropReason.NoMappingForNatMasquerade, m[2].DropReason);
            Assert.Equal(2, ct.Count);
        });
    }

    [Fact]
    public void FullTableOfAnsweredConnectionsDrops155()
    {
        WithPackets(1, m =>
        {
            using var ct = new ConntrackTable(1);
            Assert.True(ct.TryInsert(new CtKey(0x0A000163, World, 1, 1, 17, 4), 100, out uint answered));
            ct[answered].State = TcpTracker.SeenReply; // answered: not evictable
            Assert.False(SnatPortAllocator.TryAllocate(ref m[0], ct, ConntrackStage.KeyOf(m[0]), NodeAddress, 32768, 65535, 100, out _));
            Assert.Equal(DropReason.CtMapInsertionFailed, m[0].DropReason);
        });
    }
}
