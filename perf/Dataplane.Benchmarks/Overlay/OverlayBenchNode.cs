using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Overlay;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Benchmarks.Overlay;

/// <summary>What one overlay benchmark case forwards.</summary>
public enum OverlayCase
{
    /// <summary>Plain L3: pod → a remote /24 through a neighbour, no tunnel (the peer every ratio is taken against).</summary>
    L3,
    VxlanEncap4, VxlanEncap6, Srv6Encap1, Srv6Encap3,
    VxlanDecap4, VxlanDecap6, Srv6Decap1, Srv6Decap3,
}

/// <summary>
/// node-a (eth0 = port 0, one pod on port 1) set up for one <see cref="OverlayCase"/>, and a batch of pre-built
/// frames: 64-byte IPv4/UDP pod frames with varied ports (encap and L3), or the same frames already encapsulated
/// as node-b / the SRv6 peer would send them to us (decap). <see cref="Receive"/> rewrites every frame and resets
/// its descriptor, as a receive burst would, so each pass does the full work.
/// </summary>
public sealed unsafe class OverlayBenchNode : IDisposable
{
    private const ulong Eth0Mac = 0x020000000e01, PeerMac = 0x020000000e02, RouterMac = 0x020000000099, PodMac = 0x02000000aa01;
    public readonly PacketPool Pool;
    public readonly Batch Batch;
    public readonly WorkerContext Context = new(0);
    public readonly PacketPipeline Pipeline;
    private readonly byte[][] _frames;
    private readonly byte*[] _buffers;
    private readonly ushort _inPort;

    public OverlayBenchNode(OverlayCase c, int batchSize)
    {
        var b = new SnapshotBuilder { RouterMac = RouterMac, NodeName = "bench", VxlanPort = 8472 };
        var eth0 = b.AddInterface("eth0", Eth0Mac);
        var peer = new NextHop(NextHopKind.Port, eth0, PeerMac, Eth0Mac, 0);
        b.AddRoute(IPNetwork.Parse("198.18.0.2/32"), peer);
        b.AddRoute(IPNetwork.Parse("2001:db8:0:1::2/128"), peer);
        b.AddRoute(IPNetwork.Parse("2001:db8:c::/48"), peer);
        b.AddRoute(IPNetwork.Parse("2001:db8:b::/48"), peer);
        b.AddEndpoint("default", "web", ImmutableSortedDictionary<string, string>.Empty, "lxc0", PodMac,
            [IPAddress.Parse("198.18.100.10")], identity: 300);
        IPAddress src4 = IPAddress.Parse("198.18.0.1"), src6 = IPAddress.Parse("2001:db8:0:1::1");
        IPAddress node4 = IPAddress.Parse("198.18.0.2"), node6 = IPAddress.Parse("2001:db8:0:1::2");
        IPAddress[] one = [IPAddress.Parse("2001:db8:c::4")];
        IPAddress[] three = [IPAddress.Parse("2001:db8:b::1"), IPAddress.Parse("2001:db8:b::2"), IPAddress.Parse("2001:db8:c::4")];
        TunnelPeer tunnel = c switch
        {
            OverlayCase.VxlanEncap6 or OverlayCase.VxlanDecap6 => TunnelPeerFactory.Vxlan("b", node6, src6, 8472, peer, 1500, PeerMac, RouterMac),
            OverlayCase.Srv6Encap1 => TunnelPeerFactory.Srv6("c", node4, src6, peer, 1500, one, null, false),
            OverlayCase.Srv6Encap3 => TunnelPeerFactory.Srv6("c", node4, src6, peer, 1500, three, null, false),
            _ => TunnelPeerFactory.Vxlan("b", node4, src4, 8472, peer, 1500, PeerMac, RouterMac),
        };
        var endpoint = c is OverlayCase.VxlanEncap6 or OverlayCase.VxlanDecap6 ? node6 : node4;
        b.AddRoute(IPNetwork.Parse("198.18.101.0/24"), c == OverlayCase.L3 ? peer : TunnelPeerFactory.TunnelNextHop(endpoint, peer));
        b.Overlay = c == OverlayCase.L3 ? OverlayState.Empty : new OverlayState(
            [tunnel, TunnelPeerFactory.Vxlan("b6", node6, src6, 8472, peer, 1500, PeerMac, RouterMac)],
            [new LocalSid(RoutePrefix.ToUInt128(IPAddress.Parse("2001:db8:a::4")), Srv6Behavior.EndDT4)],
            [TunnelPeerFactory.IndexKey(src4), TunnelPeerFactory.IndexKey(src6)],
            validIdentities: [2, 300],
            icmpSource4: RoutePrefix.ToUInt32(src4));
        var snapshot = b.Build();
        Pipeline = new PacketPipeline(new SnapshotHolder(snapshot));

        bool decap = c >= OverlayCase.VxlanDecap4;
        _inPort = decap ? (ushort)0 : (ushort)1;
        Batch = new Batch(batchSize);
        Pool = new PacketPool(batchSize);
        var rng = new Random(1);
        _frames = new byte[batchSize][];
        _buffers = new byte*[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            _frames[i] = c switch
            {
                OverlayCase.VxlanDecap4 => Vxlan(false, Udp4(rng, "198.18.101.20", "198.18.100.10")),
                OverlayCase.VxlanDecap6 => Vxlan(true, Udp4(rng, "198.18.101.20", "198.18.100.10")),
                OverlayCase.Srv6Decap1 => Srv6(Udp4(rng, "198.18.101.20", "198.18.100.10"), 1),
                OverlayCase.Srv6Decap3 => Srv6(Udp4(rng, "198.18.101.20", "198.18.100.10"), 3),
                _ => Udp4(rng, "198.18.100.10", "198.18.101.20"),
            };
            if (!Pool.TryLoad(ref Batch[i], _frames[i], _inPort)) throw new InvalidOperationException("frame too large");
            _buffers[i] = Batch[i].Data;
        }
        Batch.Count = batchSize;
    }

    public void Receive()
    {
        for (int i = 0; i < Batch.Count; i++)
        {
            ref PacketMeta m = ref Batch[i];
            var f = _frames[i];
            fixed (byte* src = f) Buffer.MemoryCopy(src, _buffers[i], f.Length, f.Length);
            m.Data = _buffers[i];
            m.Length = (ushort)f.Length;
            m.Headroom = PacketPool.DefaultHeadroom;
            m.Capacity = (ushort)(PacketPool.DefaultFrameSize - PacketPool.DefaultHeadroom);
            m.ResetForRx(_inPort);
        }
    }

    /// <summary>How many of the last pass's packets were transmitted (the benchmark checks the case works).</summary>
    public int Transmitted()
    {
        int n = 0;
        for (int i = 0; i < Batch.Count; i++) if (Batch[i].Verdict == PacketVerdict.Tx) n++;
        return n;
    }

    private static byte[] Udp4(Random rng, string src, string dst)
    {
        var f = new byte[64];
        BinaryPrimitives.WriteUInt64BigEndian(f, RouterMac << 16);
        f[12] = 0x08; f[14] = 0x45; f[17] = 50; f[20] = 0x40; f[22] = 64; f[23] = 17;
        IPAddress.Parse(src).TryWriteBytes(f.AsSpan(26), out _);
        IPAddress.Parse(dst).TryWriteBytes(f.AsSpan(30), out _);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(34), (ushort)rng.Next(1024, 65535));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(36), 53);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(38), 30);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(24), Checksum(f.AsSpan(14, 20)));
        return f;
    }

    private static byte[] Vxlan(bool ipv6, byte[] inner)
    {
        int ip = ipv6 ? 40 : 20, udpLen = 16 + inner.Length;
        var f = new byte[14 + ip + udpLen];
        BinaryPrimitives.WriteUInt64BigEndian(f, Eth0Mac << 16);
        f[12] = ipv6 ? (byte)0x86 : (byte)0x08; f[13] = ipv6 ? (byte)0xDD : (byte)0;
        var h = f.AsSpan(14);
        if (ipv6)
        {
            h[0] = 0x60; BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)udpLen); h[6] = 17; h[7] = 64;
            IPAddress.Parse("2001:db8:0:1::2").TryWriteBytes(h[8..], out _);
            IPAddress.Parse("2001:db8:0:1::1").TryWriteBytes(h[24..], out _);
        }
        else
        {
            h[0] = 0x45; BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)(20 + udpLen)); h[8] = 64; h[9] = 17;
            IPAddress.Parse("198.18.0.2").TryWriteBytes(h[12..], out _);
            IPAddress.Parse("198.18.0.1").TryWriteBytes(h[16..], out _);
            BinaryPrimitives.WriteUInt16BigEndian(h[10..], Checksum(h[..20]));
        }
        var u = h[ip..];
        BinaryPrimitives.WriteUInt16BigEndian(u, 50000);
        BinaryPrimitives.WriteUInt16BigEndian(u[2..], 8472);
        BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)udpLen);
        u[8] = 0x08; u[14] = 2;                                  // VNI 2 (world)
        inner.CopyTo(u[16..]);
        return f;
    }

    /// <summary>As a peer's H.Encaps sends to our End.DT4 SID: SRH with <paramref name="segments"/> entries, SL 0.</summary>
    private static byte[] Srv6(byte[] inner, int segments)
    {
        int srh = 8 + 16 * segments, l3 = inner.Length - 14;
        var f = new byte[14 + 40 + srh + l3];
        BinaryPrimitives.WriteUInt64BigEndian(f, Eth0Mac << 16);
        f[12] = 0x86; f[13] = 0xDD;
        var h = f.AsSpan(14);
        h[0] = 0x60; BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)(srh + l3)); h[6] = 43; h[7] = 64;
        IPAddress.Parse("2001:db8:0:1::2").TryWriteBytes(h[8..], out _);
        IPAddress.Parse("2001:db8:a::4").TryWriteBytes(h[24..], out _);
        var s = h[40..];
        s[0] = 4; s[1] = (byte)(2 * segments); s[2] = 4; s[3] = 0; s[4] = (byte)(segments - 1);
        IPAddress.Parse("2001:db8:a::4").TryWriteBytes(s[8..], out _);
        for (int i = 1; i < segments; i++) IPAddress.Parse($"2001:db8:b::{i}").TryWriteBytes(s[(8 + 16 * i)..], out _);
        inner.AsSpan(14).CopyTo(s[srh..]);
        return f;
    }

    private static ushort Checksum(ReadOnlySpan<byte> b)
    {
        uint s = 0;
        for (int i = 0; i + 1 < b.Length; i += 2) s += (uint)(b[i] << 8 | b[i + 1]);
        while (s > 0xFFFF) s = (s & 0xFFFF) + (s >> 16);
        return (ushort)~s;
    }

    public void Dispose() { Pool.Dispose(); Batch.Dispose(); }
}
