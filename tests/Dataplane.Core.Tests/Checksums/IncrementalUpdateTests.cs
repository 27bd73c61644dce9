using System.Buffers.Binary;
using Dataplane.Core.Checksums;

namespace Dataplane.Core.Tests.Checksums;

/// <summary>RFC 1624 updates must be bit-identical to recomputing from scratch.</summary>
public class IncrementalUpdateTests
{
    private const int Rounds = 20_000;

    private static byte[] RandomIpv4Header(Random rng)
    {
        byte[] h = new byte[20];
        rng.NextBytes(h);
        h[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(10), InetChecksum.Ipv4Header(h));
        return h;
    }

    private static ushort StoredChecksum(byte[] header) => BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(10));

    [Fact]
    public void Update16MatchesRecompute()
    {
        var rng = new Random(16);
        for (int i = 0; i < Rounds; i++)
        {
            byte[] h = RandomIpv4Header(rng);
            int wordOffset = 2 * rng.Next(10);
            if (wordOffset == 10) continue;
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(wordOffset));
            ushort newWord = (ushort)rng.Next(0x10000);
            if (i % 7 == 0) newWord = oldWord;                 // a no-op rewrite must not flip 0 <-> 0xFFFF
            ushort updated = InetChecksum.Update16(StoredChecksum(h), oldWord, newWord);
            BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(wordOffset), newWord);
            Assert.Equal(InetChecksum.Ipv4Header(h), updated);
        }
    }

    [Fact]
    public void Update32MatchesRecomputeForAddressRewrites()
    {
        var rng = new Random(32);
        for (int i = 0; i < Rounds; i++)
        {
            byte[] h = RandomIpv4Header(rng);
            int offset = rng.Next(2) == 0 ? 12 : 16;
            uint oldAddr = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(offset));
            uint newAddr = (uint)rng.NextInt64(0x1_0000_0000);
            ushort updated = InetChecksum.Update32(StoredChecksum(h), oldAddr, newAddr);
            BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(offset), newAddr);
            Assert.Equal(InetChecksum.Ipv4Header(h), updated);
        }
    }

    [Fact]
    public void Update32FixesTcpChecksumThroughPseudoHeader()
    {
        var rng = new Random(3232);
        byte[] packet = new byte[20 + 40];
        for (int i = 0; i < Rounds / 4; i++)
        {
            rng.NextBytes(packet);
            packet[0] = 0x45;
            Span<byte> tcp = packet.AsSpan(20);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InetChecksum.L4V4(packet.AsSpan(0, 20), tcp, 6));
            uint oldSrc = BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(12));
            uint newSrc = (uint)rng.NextInt64(0x1_0000_0000);
            ushort updated = InetChecksum.Update32(BinaryPrimitives.ReadUInt16BigEndian(tcp[16..]), oldSrc, newSrc);
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), newSrc);
            Assert.Equal(InetChecksum.L4V4(packet.AsSpan(0, 20), tcp, 6), updated);
        }
    }

    [Fact]
    public void Update128MatchesRecomputeForIpv6AddressRewrites()
    {
        var rng = new Random(128);
        byte[] packet = new byte[40 + 8 + 23];
        byte[] newAddr = new byte[16];
        for (int i = 0; i < Rounds; i++)
        {
            rng.NextBytes(packet);
            rng.NextBytes(newAddr);
            Span<byte> l4 = packet.AsSpan(40);
            byte proto = i % 2 == 0 ? (byte)17 : (byte)58;
            BinaryPrimitives.WriteUInt16BigEndian(l4[(proto == 17 ? 6 : 2)..], InetChecksum.L4V6(packet.AsSpan(0, 40), l4, proto));
            int offset = rng.Next(2) == 0 ? 8 : 24;
            ushort stored = BinaryPrimitives.ReadUInt16BigEndian(l4[(proto == 17 ? 6 : 2)..]);
            byte[] oldAddr = packet.AsSpan(offset, 16).ToArray();
            ushort updated = proto == 17
                ? InetChecksum.UpdateUdp128(stored, oldAddr, newAddr)
                : InetChecksum.Update128(stored, oldAddr, newAddr);
            newAddr.CopyTo(packet.AsSpan(offset));
            Assert.Equal(InetChecksum.L4V6(packet.AsSpan(0, 40), l4, proto), updated);
        }
    }

    [Fact]
    public void TtlDecrementMatchesRecompute()
    {
        var rng = new Random(64);
        for (int i = 0; i < Rounds; i++)
        {
            byte[] h = RandomIpv4Header(rng);
            if (h[8] <= 1) continue;
            byte oldTtl = h[8];
            byte[] viaHelper = (byte[])h.Clone();
            InetChecksum.DecrementTtl(viaHelper);
            ushort viaUpdate = InetChecksum.UpdateTtl(StoredChecksum(h), oldTtl, (byte)(oldTtl - 1));
            h[8]--;
            ushort recomputed = InetChecksum.Ipv4Header(h);
            Assert.Equal(recomputed, viaUpdate);
            Assert.Equal(oldTtl - 1, viaHelper[8]);
            Assert.Equal(recomputed, StoredChecksum(viaHelper));
            Assert.True(InetChecksum.Ipv4HeaderValid(viaHelper));
        }
    }

    [Fact]
    public void TtlDecrementOnKnownHeader()
    {
        byte[] h = ReferenceChecksum.Hex("45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7");
        InetChecksum.DecrementTtl(h);
        Assert.Equal(0x3F, h[8]);
        Assert.Equal(0xB961, StoredChecksum(h));
    }

    [Fact]
    public void UdpUpdatesKeepZeroAndAvoidProducingZero()
    {
        Assert.Equal(0, InetChecksum.UpdateUdp16(0, 0x1234, 0x4321));
        Assert.Equal(0, InetChecksum.UpdateUdp32(0, 0x0A000001, 0x0A000002));
        // Stored 0xFFFF stands for a computed 0; an unchanged word would give 0 via plain eqn. 3.
        Assert.Equal(0, InetChecksum.Update16(0xFFFF, 0x1234, 0x1234));
        Assert.Equal(0xFFFF, InetChecksum.UpdateUdp16(0xFFFF, 0x1234, 0x1234));
    }

    [Fact]
    public void UdpV4AddressRewritesMatchRecompute()
    {
        var rng = new Random(768);
        byte[] packet = new byte[20 + 8 + 17];
        for (int i = 0; i < Rounds / 2; i++)
        {
            rng.NextBytes(packet);
            packet[0] = 0x45;
            Span<byte> udp = packet.AsSpan(20);
            BinaryPrimitives.WriteUInt16BigEndian(udp[6..], InetChecksum.L4V4(packet.AsSpan(0, 20), udp, 17));
            uint oldDst = BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(16));
            uint newDst = (uint)rng.NextInt64(0x1_0000_0000);
            ushort updated = InetChecksum.UpdateUdp32(BinaryPrimitives.ReadUInt16BigEndian(udp[6..]), oldDst, newDst);
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(16), newDst);
            Assert.Equal(InetChecksum.L4V4(packet.AsSpan(0, 20), udp, 17), updated);
        }
    }
}
