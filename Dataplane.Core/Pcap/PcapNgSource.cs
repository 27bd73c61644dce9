using static Dataplane.Core.Pcap.PcapConstants;

namespace Dataplane.Core.Pcap;

/// <summary>
/// pcapng: a sequence of blocks (type, total length, body padded to 4, total length again). A Section Header
/// Block fixes the byte order and starts a fresh list of interfaces; Interface Description Blocks give each
/// interface's link type, snap length and timestamp unit; Enhanced, Simple and (obsolete) Packet Blocks carry
/// packets. Every other block type is skipped.
/// </summary>
internal sealed class PcapNgSource : PcapRecordSource
{
    private readonly PcapInput _input;
    private readonly List<PcapNgInterface> _interfaces = [];
    private bool _bigEndian;
    private byte[] _body = new byte[256];
    private int _firstLinkType = PcapLinkType.Unknown;

    /// <summary>
    /// Parses the first Section Header Block, whose type (<paramref name="blockType"/>) is already read, and
    /// any blocks up to the first interface so <see cref="LinkType"/> is known before the first packet.
    /// </summary>
    public PcapNgSource(PcapInput input, ReadOnlySpan<byte> blockType)
    {
        _input = input;
        ReadSectionHeader(input.Offset - blockType.Length);
        while (_interfaces.Count == 0 && TryReadBlock(out uint type, out int bodyLength, out long at))
        {
            if (IsPacketBlock(type)) PcapInput.Fail(at, "packet block before any Interface Description Block");
            Handle(type, bodyLength, at);
        }
    }

    public override PcapFileFormat Format => PcapFileFormat.PcapNg;
    public override int LinkType => _firstLinkType;

    public override bool TryReadNext(out PcapRecord record)
    {
        while (TryReadBlock(out uint type, out int bodyLength, out long at))
        {
            if (IsPacketBlock(type))
            {
                record = ReadPacket(type, _body.AsSpan(0, bodyLength), at);
                return true;
            }
            Handle(type, bodyLength, at);
        }
        record = default;
        return false;
    }

    private static bool IsPacketBlock(uint type) =>
        type is BlockEnhancedPacket or BlockSimplePacket or BlockPacketObsolete;

    /// <summary>
    /// Reads the next block's type and body into <see cref="_body"/>, checking both length fields. A Section
    /// Header Block is handled here, since its body decides how its own length is read.
    /// </summary>
    private bool TryReadBlock(out uint type, out int bodyLength, out long at)
    {
        while (true)
        {
            Span<byte> head = stackalloc byte[8];
            at = _input.Offset;
            bodyLength = 0;
            if (!_input.TryFill(head[..4], "block type"))
            {
                type = 0;
                return false;
            }
            type = PcapInput.U32(head, _bigEndian);
            if (type == BlockSectionHeader)
            {
                ReadSectionHeader(at);
                continue;
            }
            _input.Fill(head[4..], "block length");
            uint total = PcapInput.U32(head[4..], _bigEndian);
            bodyLength = CheckTotalLength(total, at);
            ReadBody(bodyLength, total, at);
            return true;
        }
    }

    private void ReadSectionHeader(long at)
    {
        Span<byte> lengthAndMagic = stackalloc byte[8];
        _input.Fill(lengthAndMagic, "section header");
        uint magic = PcapInput.U32(lengthAndMagic[4..], bigEndian: false);
        if (magic == ByteOrderMagic) _bigEndian = false;
        else if (magic == 0x4D3C2B1A) _bigEndian = true;
        else PcapInput.Fail(at + 8, $"section header byte-order magic 0x{magic:X8} is neither 1A2B3C4D nor 4D3C2B1A");

        uint total = PcapInput.U32(lengthAndMagic, _bigEndian);
        int bodyLength = CheckTotalLength(total, at);
        if (bodyLength < 4 + 12) PcapInput.Fail(at, $"section header block length {total} is too short");
        // The body proper starts after the magic, which is already consumed.
        ReadBody(bodyLength - 4, total, at);
        ushort major = PcapInput.U16(_body, _bigEndian);
        if (major != 1) PcapInput.Fail(at + 12, $"unsupported pcapng major version {major}");
        _interfaces.Clear();
    }

    private static int CheckTotalLength(uint total, long at)
    {
        if (total < 12 || (total & 3) != 0 || total > MaxRecordLength)
            PcapInput.Fail(at + 4, $"block total length {total} is not a multiple of 4 in 12..{MaxRecordLength}");
        return (int)total - 12;
    }

    /// <summary>Reads <paramref name="bodyLength"/> bytes of body and the trailing length, which must repeat <paramref name="total"/>.</summary>
    private void ReadBody(int bodyLength, uint total, long at)
    {
        if (_body.Length < bodyLength + 4) _body = new byte[Math.Max(bodyLength + 4, _body.Length * 2)];
        Span<byte> bodyAndTrailer = _body.AsSpan(0, bodyLength + 4);
        _input.Fill(bodyAndTrailer, "block body");
        uint trailer = PcapInput.U32(bodyAndTrailer[bodyLength..], _bigEndian);
        if (trailer != total) PcapInput.Fail(_input.Offset - 4, $"block trailing length {trailer} differs from leading length {total}");
    }

    private void Handle(uint type, int bodyLength, long at)
    {
        if (type == BlockInterfaceDescription) AddInterface(_body.AsSpan(0, bodyLength), at);
    }

    private void AddInterface(ReadOnlySpan<byte> body, long at)
    {
        if (body.Length < 8) PcapInput.Fail(at, "interface description block shorter than 8 bytes of body");
        int linkType = PcapInput.U16(body, _bigEndian);
        uint snapLength = PcapInput.U32(body[4..], _bigEndian);
        var unit = PcapNgTimestampUnit.Microseconds;
        long offsetSeconds = 0;

        ReadOnlySpan<byte> options = body[8..];
        long optionAt = at + 16;
        while (options.Length >= 4)
        {
            ushort code = PcapInput.U16(options, _bigEndian);
            int length = PcapInput.U16(options[2..], _bigEndian);
            if (code == OptionEnd) break;
            int padded = (length + 3) & ~3;
            if (4 + padded > options.Length) PcapInput.Fail(optionAt, $"option {code} of length {length} runs past its block");
            ReadOnlySpan<byte> value = options.Slice(4, length);
            if (code == OptionIfTsResol && length >= 1) unit = PcapNgTimestampUnit.FromOption(value[0]);
            else if (code == OptionIfTsOffset && length >= 8) offsetSeconds = (long)PcapInput.U64(value, _bigEndian);
            options = options[(4 + padded)..];
            optionAt += 4 + padded;
        }

        if (_firstLinkType == PcapLinkType.Unknown) _firstLinkType = linkType;
        _interfaces.Add(new PcapNgInterface(linkType, snapLength, unit, offsetSeconds));
    }

    private PcapRecord ReadPacket(uint type, ReadOnlySpan<byte> body, long at)
    {
        int interfaceId, captured;
        uint original;
        ulong units;
        int dataStart;
        switch (type)
        {
            case BlockEnhancedPacket:
                if (body.Length < 20) PcapInput.Fail(at, "enhanced packet block shorter than 20 bytes of body");
                interfaceId = (int)Math.Min(PcapInput.U32(body, _bigEndian), int.MaxValue);
                units = ((ulong)PcapInput.U32(body[4..], _bigEndian) << 32) | PcapInput.U32(body[8..], _bigEndian);
                captured = CheckCaptured(PcapInput.U32(body[12..], _bigEndian), body.Length - 20, at);
                original = PcapInput.U32(body[16..], _bigEndian);
                dataStart = 20;
                break;
            case BlockPacketObsolete:
                if (body.Length < 20) PcapInput.Fail(at, "packet block shorter than 20 bytes of body");
                interfaceId = PcapInput.U16(body, _bigEndian);
                units = ((ulong)PcapInput.U32(body[4..], _bigEndian) << 32) | PcapInput.U32(body[8..], _bigEndian);
                captured = CheckCaptured(PcapInput.U32(body[12..], _bigEndian), body.Length - 20, at);
                original = PcapInput.U32(body[16..], _bigEndian);
                dataStart = 20;
                break;
            default: // Simple Packet Block: no interface id (always 0), no timestamp, captured length implied.
                if (body.Length < 4) PcapInput.Fail(at, "simple packet block shorter than 4 bytes of body");
                interfaceId = 0;
                units = 0;
                original = PcapInput.U32(body, _bigEndian);
                captured = (int)Math.Min(original, (uint)(body.Length - 4));
                dataStart = 4;
                break;
        }

        if (interfaceId >= _interfaces.Count)
            PcapInput.Fail(at, $"packet references interface {interfaceId} but the section defines {_interfaces.Count}");
        PcapNgInterface iface = _interfaces[interfaceId];
        if (type == BlockSimplePacket && iface.SnapLength != 0) captured = (int)Math.Min((uint)captured, iface.SnapLength);
        if (original > int.MaxValue) PcapInput.Fail(at, $"original length {original} is out of range");

        long nanos = type == BlockSimplePacket ? 0 : iface.ToNanos(units, at);
        return new PcapRecord(nanos, iface.LinkType, body.Slice(dataStart, captured).ToArray(), (int)original);
    }

    private static int CheckCaptured(uint captured, int available, long at)
    {
        if (captured > (uint)available) PcapInput.Fail(at, $"captured length {captured} exceeds the {available} bytes in its block");
        return (int)captured;
    }
}
