using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Benchmarks.Pipeline;

/// <summary>
/// A node with an uplink, a default route, 1 000 routes and a local pod; a pool of pre-built 64-byte frames
/// (IPv4/UDP and IPv6/UDP mixed) reloaded before each pass the way a NIC writes a received frame.
/// </summary>
public sealed unsafe class BenchNode : IDisposable
{
    public readonly PacketPool Pool;
    public readonly Batch Batch;
    public readonly WorkerContext Context;
    public readonly PacketPipeline Pipeline;
    public readonly DatapathSnapshot Snapshot;
    private readonly byte[][] _frames;
    private readonly byte*[] _buffers;

    /// <param name="dropShare">share of IPv4 frames sent with TTL 1, which the route stage drops (TTL_EXCEEDED)</param>
    /// <param name="context">the worker's context (a flow ring, its recording mode); default: none</param>
    public BenchNode(int batchSize, double ipv6Share = 0.0, double dropShare = 0.0, WorkerContext? context = null)
    {
        Context = context ?? new WorkerContext(0);
        var b = new SnapshotBuilder { RouterMac = 0x020000000099, NodeName = "bench" };
        var eth0 = b.AddInterface("eth0", 0x020000000e01);
        var eth1 = b.AddInterface("eth1", 0x020000000e02);
        var gw0 = new NextHop(NextHopKind.Port, eth0, 0x020000000efe, 0x020000000e01, 0);
        var gw1 = new NextHop(NextHopKind.Port, eth1, 0x020000000ffe, 0x020000000e02, 0);
        b.AddRoute(IPNetwork.Parse("0.0.0.0/0"), gw0);
        b.AddRoute(IPNetwork.Parse("::/0"), gw0);
        // 1 000 /24s inside 198.18.0.0/15 toward the second interface.
        for (int i = 0; i < 1000; i++)
            b.AddRoute(new IPNetwork(new IPAddress(new byte[] { 198, (byte)(18 + i / 256), (byte)(i % 256), 0 }), 24), gw1);
        b.AddRoute(IPNetwork.Parse("2001:db8::/32"), gw1);
        b.AddEndpoint("default", "pod", ImmutableSortedDictionary<string, string>.Empty, "lxc0", 0x02000000aa01,
            [IPAddress.Parse("198.18.250.10")]);
        Snapshot = b.Build();
        Pipeline = new PacketPipeline(new SnapshotHolder(Snapshot));

        Batch = new Batch(batchSize);
        Pool = new PacketPool(batchSize);
        var rng = new Random(1);
        _frames = new byte[batchSize][];
        _buffers = new byte*[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            _frames[i] = rng.NextDouble() < ipv6Share ? Udp6(rng) : Udp4(rng, dropShare > 0 && rng.NextDouble() < dropShare ? (byte)1 : (byte)64);
            Pool.TryLoad(ref Batch[i], _frames[i], 0);
            _buffers[i] = Batch[i].Data;
        }
        Batch.Count = batchSize;
    }

    /// <summary>
    /// What a zero-copy receive burst costs the CPU: descriptors reset. The NIC's DMA would have written fresh
    /// frames; here we restore the only bytes forwarding changed (the destination MAC, TTL/hop limit and the IPv4
    /// checksum; the source MAC is rewritten to the same value every pass), so every pass forwards valid packets.
    /// </summary>
    public void Receive()
    {
        for (int i = 0; i < Batch.Count; i++)
        {
            ref PacketMeta m = ref Batch[i];
            byte* d = _buffers[i];
            var f = _frames[i];
            // Forwarding rewrote the destination MAC to the next hop's: received again, the frame is for eth0 once more.
            new ReadOnlySpan<byte>(f, 0, 6).CopyTo(new Span<byte>(d, 6));
            if (f[12] == 0x08) { d[22] = f[22]; d[24] = f[24]; d[25] = f[25]; }
            else d[21] = f[21];
            m.Data = d;
            m.Length = (ushort)f.Length;
            m.Headroom = PacketPool.DefaultHeadroom;
            m.ResetForRx(0);
        }
    }

    private static byte[] Udp4(Random rng, byte ttl = 64)
    {
        var f = new byte[64];
        EthernetToUs(f);
        f[12] = 0x08; f[14] = 0x45; f[16] = 0; f[17] = 50; f[22] = ttl; f[23] = 17;
        new byte[] { 198, 19, (byte)rng.Next(256), 1 }.CopyTo(f, 26);
        new byte[] { 198, (byte)(18 + rng.Next(2)), (byte)rng.Next(256), (byte)rng.Next(1, 255) }.CopyTo(f, 30);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(34), (ushort)rng.Next(1024, 65535));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(36), 53);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(38), 30);
        uint s = 0;
        for (int i = 14; i < 34; i += 2) s += (uint)(f[i] << 8 | f[i + 1]);
        while (s > 0xFFFF) s = (s & 0xFFFF) + (s >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(24), (ushort)~s);
        return f;
    }

    private static byte[] Udp6(Random rng)
    {
        var f = new byte[78];
        EthernetToUs(f);
        f[12] = 0x86; f[13] = 0xDD; f[14] = 0x60; f[19] = 16; f[20] = 17; f[21] = 64;
        IPAddress.Parse("2001:db9::1").TryWriteBytes(f.AsSpan(22), out _);
        IPAddress.Parse($"2001:db8::{rng.Next(1, 65535):x}").TryWriteBytes(f.AsSpan(38), out _);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(54), (ushort)rng.Next(1024, 65535));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(56), 53);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(58), 16);
        return f;
    }

    /// <summary>Addressed to eth0's MAC (the port the frames arrive on): a router does not route frames for another host (131).</summary>
    private static void EthernetToUs(byte[] f)
    {
        BinaryPrimitives.WriteUInt16BigEndian(f, 0x0200);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(2), 0x00000e01);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(6), 0x0200);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(8), 0x0000ef01);
    }

    public void Dispose() { Pool.Dispose(); Batch.Dispose(); }
}
