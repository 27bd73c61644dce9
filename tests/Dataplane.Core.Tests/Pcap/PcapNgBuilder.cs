using System.Buffers.Binary;

namespace Dataplane.Core.Tests.Pcap;

/// <summary>Builds pcapng files byte by byte from the specification, in either byte order.</summary>
internal sealed class PcapNgBuilder
{
    private readonly MemoryStream _out = new();
    private bool _bigEndian;

    public byte[] ToArray() => _out.ToArray();

    public PcapNgBuilder Section(bool bigEndian)
    {
        _bigEndian = bigEndian;
        var body = new List<byte>();
        body.AddRange(U32(0x1A2B3C4D));
        body.AddRange(U16(1));
        body.AddRange(U16(0));
        body.AddRange(U64(ulong.MaxValue));               // section length unknown
        body.AddRange(Option(4, "dataplane-test"u8));     // shb_userappl, to be skipped
        body.AddRange(U32(0));                            // opt_endofopt
        return Block(0x0A0D0D0A, body.ToArray());
    }

    /// <summary>An IDB; <paramref name="tsresol"/> adds an if_tsresol option, <paramref name="tsOffset"/> an if_tsoffset.</summary>
    public PcapNgBuilder Interface(ushort linkType, uint snapLength, byte? tsresol = null, long? tsOffset = null)
    {
        var body = new List<byte>();
        body.AddRange(U16(linkType));
        body.AddRange(U16(0));
        body.AddRange(U32(snapLength));
        body.AddRange(Option(2, "eth0"u8));               // if_name, to be skipped
        if (tsresol is byte r) body.AddRange(Option(9, [r]));
        if (tsOffset is long o) body.AddRange(Option(14, U64((ulong)o)));
        body.AddRange(U32(0));
        return Block(1, body.ToArray());
    }

    public PcapNgBuilder Enhanced(uint interfaceId, ulong timestamp, byte[] data, uint? originalLength = null)
    {
        var body = new List<byte>();
        body.AddRange(U32(interfaceId));
        body.AddRange(U32((uint)(timestamp >> 32)));
        body.AddRange(U32((uint)timestamp));
        body.AddRange(U32((uint)data.Length));
        body.AddRange(U32(originalLength ?? (uint)data.Length));
        body.AddRange(Padded(data));
        body.AddRange(Option(1, "comment"u8));            // opt_comment, to be skipped
        body.AddRange(U32(0));
        return Block(6, body.ToArray());
    }

    public PcapNgBuilder Simple(byte[] data, uint? originalLength = null)
    {
        var body = new List<byte>();
        body.AddRange(U32(originalLength ?? (uint)data.Length));
        body.AddRange(Padded(data));
        return Block(3, body.ToArray());
    }

    public PcapNgBuilder ObsoletePacket(ushort interfaceId, ulong timestamp, byte[] data)
    {
        var body = new List<byte>();
        body.AddRange(U16(interfaceId));
        body.AddRange(U16(0));
        body.AddRange(U32((uint)(timestamp >> 32)));
        body.AddRange(U32((uint)timestamp));
        body.AddRange(U32((uint)data.Length));
        body.AddRange(U32((uint)data.Length));
        body.AddRange(Padded(data));
        return Block(2, body.ToArray());
    }

    /// <summary>Any block: type, total length, body (padded), total length.</summary>
    public PcapNgBuilder Block(uint type, byte[] body)
    {
        byte[] padded = Padded(body);
        uint total = (uint)(12 + padded.Length);
        _out.Write(U32(type));
        _out.Write(U32(total));
        _out.Write(padded);
        _out.Write(U32(total));
        return this;
    }

    private byte[] Option(ushort code, ReadOnlySpan<byte> value) => [.. U16(code), .. U16((ushort)value.Length), .. Padded(value.ToArray())];

    private static byte[] Padded(byte[] data)
    {
        byte[] padded = new byte[(data.Length + 3) & ~3];
        data.CopyTo(padded, 0);
        return padded;
    }

    private byte[] U16(ushort v)
    {
        byte[] b = new byte[2];
        if (_bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        return b;
    }

    private byte[] U32(uint v)
    {
        byte[] b = new byte[4];
        if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private byte[] U64(ulong v)
    {
        byte[] b = new byte[8];
        if (_bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b, v); else BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }
}
