using System.Buffers.Binary;
using Dataplane.Core.Packets;

namespace Dataplane.Benchmarks.Pipeline;

/// <summary>
/// Received bursts of 64-byte IPv4/TCP ACK frames from outside clients, one of <c>flows</c> flows per packet in a
/// shuffled order: flow f is client 198.19.(f &gt;&gt; 12 &amp; 255).(f &gt;&gt; 4 &amp; 255), source port 10000 + (f &amp; 15), to
/// one destination address and port. Each burst re-writes every frame as the NIC would (the 64 bytes, with a valid
/// IPv4 header checksum) and resets the descriptors, so every pass measures the same work.
/// </summary>
public sealed unsafe class ClientFrames
{
    private readonly Batch _batch;
    private readonly byte[] _template;
    private readonly ushort _ipChecksum;
    private readonly byte*[] _buffers;
    private readonly int[] _order;
    private int _next;

    /// <param name="dstMac">The receiving port's MAC (the source MAC is 02:00:00:00:00:fe, the router's).</param>
    public ClientFrames(Batch batch, PacketPool pool, ulong dstMac, uint dst, ushort dport, int flows)
    {
        _batch = batch;
        _template = Frame(dstMac, dst, dport);
        _ipChecksum = BinaryPrimitives.ReadUInt16BigEndian(_template.AsSpan(24));
        _buffers = new byte*[batch.Capacity];
        for (int i = 0; i < batch.Capacity; i++)
        {
            pool.TryLoad(ref batch[i], _template, 0);
            _buffers[i] = batch[i].Data;
        }
        batch.Count = batch.Capacity;
        _order = new int[Math.Max(flows, batch.Capacity)];
        for (int i = 0; i < _order.Length; i++) _order[i] = i % flows;
        new Random(7).Shuffle(_order);
    }

    /// <summary>The next burst, flows in the shuffled order.</summary>
    public void Receive()
    {
        for (int i = 0; i < _batch.Count; i++)
        {
            Load(i, _order[_next]);
            if (++_next == _order.Length) _next = 0;
        }
    }

    /// <summary>Packet <paramref name="i"/> of the batch becomes a frame of flow <paramref name="flow"/>.</summary>
    public void Load(int i, int flow)
    {
        byte* d = _buffers[i];
        fixed (byte* t = _template) Buffer.MemoryCopy(t, d, 64, 64);
        uint src = 0xC6130000u | (uint)((flow >> 4) & 0xFFFF);
        BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(d + 26, 4), src);
        // The parser verifies the IPv4 header checksum: patch it for the new source (the NIC's frame would be valid).
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(d + 24, 2), Core.Checksums.InetChecksum.Update32(_ipChecksum, 0xC6130000u, src));
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(d + 34, 2), (ushort)(10000 + (flow & 15)));
        ref PacketMeta m = ref _batch[i];
        m.Data = d;
        m.Length = 64;
        m.Headroom = PacketPool.DefaultHeadroom;
        m.ResetForRx(0);
    }

    private static byte[] Frame(ulong dstMac, uint dst, ushort dport)
    {
        var f = new byte[64];
        BinaryPrimitives.WriteUInt64BigEndian(f, dstMac << 16 | 0x0200);   // dst MAC, then the source's first bytes 02:00
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(8), 0x000000fe);
        f[12] = 0x08; f[13] = 0x00;
        var ip = f.AsSpan(14);
        ip[0] = 0x45; BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 50); ip[8] = 64; ip[9] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], 0xC6130000);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Core.Checksums.InetChecksum.Ipv4Header(ip[..20]));
        var tcp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 10000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dport);
        tcp[12] = 5 << 4; tcp[13] = 0x10; // ACK
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
        return f;
    }
}
