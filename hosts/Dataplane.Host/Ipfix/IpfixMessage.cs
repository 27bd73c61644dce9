using System.Buffers.Binary;

namespace Dataplane.Host.Ipfix;

/// <summary>
/// Encodes IPFIX messages (RFC 7011 §3): the 16-byte header, a template set with the two templates (IPv4 and IPv6
/// flows), and data sets of <see cref="FlowRecord"/>s, into one buffer no larger than a UDP datagram that crosses
/// any path unfragmented. Records are fixed-length, so each template describes its records byte for byte.
/// </summary>
public sealed class IpfixMessage
{
    public const ushort Version = 10, TemplateSetId = 2, TemplateV4 = 256, TemplateV6 = 257;
    /// <summary>A datagram that fits a 1500-byte MTU with IPv6 and UDP headers (RFC 7011 §10.3.3: avoid fragmentation).</summary>
    public const int MaxBytes = 1400;
    private const int HeaderBytes = 16, SetHeaderBytes = 4;

    /// <summary>IANA information elements (RFC 7012 and the IANA registry): id and length on the wire.</summary>
    private static readonly (ushort Id, ushort Length)[] V4Fields =
    [
        (8, 4), (12, 4),                 // sourceIPv4Address, destinationIPv4Address
        (7, 2), (11, 2), (4, 1), (6, 1), // sourceTransportPort, destinationTransportPort, protocolIdentifier, tcpControlBits (reduced size)
        (32, 2),                         // icmpTypeCodeIPv4
        (1, 8), (2, 8),                  // octetDeltaCount, packetDeltaCount
        (152, 8), (153, 8),              // flowStartMilliseconds, flowEndMilliseconds
        (136, 1), (89, 1),               // flowEndReason, forwardingStatus (RFC 7270)
    ];

    private static readonly (ushort Id, ushort Length)[] V6Fields =
    [
        (27, 16), (28, 16),              // sourceIPv6Address, destinationIPv6Address
        (7, 2), (11, 2), (4, 1), (6, 1),
        (139, 2),                        // icmpTypeCodeIPv6
        (1, 8), (2, 8),
        (152, 8), (153, 8),
        (136, 1), (89, 1),
    ];

    /// <summary>Enterprise-specific elements under the configured PEN: Cilium's security identities and drop reason.</summary>
    public const ushort SourceIdentityElement = 1, DestinationIdentityElement = 2, DropReasonElement = 3;
    private static readonly (ushort Id, ushort Length)[] EnterpriseFields = [(SourceIdentityElement, 4), (DestinationIdentityElement, 4), (DropReasonElement, 1)];

    public static readonly int V4RecordBytes = Sum(V4Fields) + Sum(EnterpriseFields);
    public static readonly int V6RecordBytes = Sum(V6Fields) + Sum(EnterpriseFields);

    private readonly byte[] _buf = new byte[MaxBytes];
    private readonly uint _domain;
    private readonly uint _pen;
    private int _length;
    private int _setStart = -1;
    private ushort _setTemplate;

    public IpfixMessage(uint observationDomainId, uint enterpriseNumber)
    {
        _domain = observationDomainId;
        _pen = enterpriseNumber;
    }

    /// <summary>Records in the message so far.</summary>
    public int Records { get; private set; }

    /// <summary>Starts a message; with <paramref name="templates"/> it opens with the template set (sent at start and then periodically, as UDP may lose it).</summary>
    public void Begin(uint exportTimeSeconds, uint sequence, bool templates)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buf, Version);
        BinaryPrimitives.WriteUInt32BigEndian(_buf.AsSpan(4), exportTimeSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(_buf.AsSpan(8), sequence);
        BinaryPrimitives.WriteUInt32BigEndian(_buf.AsSpan(12), _domain);
        _length = HeaderBytes;
        _setStart = -1;
        Records = 0;
        if (templates) WriteTemplateSet();
    }

    private void WriteTemplateSet()
    {
        int start = _length;
        _length += SetHeaderBytes;
        WriteTemplate(TemplateV4, V4Fields);
        WriteTemplate(TemplateV6, V6Fields);
        BinaryPrimitives.WriteUInt16BigEndian(_buf.AsSpan(start), TemplateSetId);
        BinaryPrimitives.WriteUInt16BigEndian(_buf.AsSpan(start + 2), (ushort)(_length - start));
    }

    private void WriteTemplate(ushort id, (ushort Id, ushort Length)[] fields)
    {
        Put16(id);
        Put16((ushort)(fields.Length + EnterpriseFields.Length));
        foreach (var (ie, len) in fields) { Put16(ie); Put16(len); }
        foreach (var (ie, len) in EnterpriseFields)
        {
            Put16((ushort)(0x8000 | ie)); // enterprise bit, then the PEN after the length (§3.2)
            Put16(len);
            Put32(_pen);
        }
    }

    /// <summary>Appends a record; false when it does not fit (send this message and start another).</summary>
    public bool TryAdd(in FlowRecord r)
    {
        bool v6 = r.Key.Family == 6;
        ushort template = v6 ? TemplateV6 : TemplateV4;
        int need = (v6 ? V6RecordBytes : V4RecordBytes) + (_setStart >= 0 && _setTemplate == template ? 0 : SetHeaderBytes);
        if (_length + need > MaxBytes) return false;
        if (_setStart < 0 || _setTemplate != template)
        {
            CloseSet();
            _setStart = _length;
            _setTemplate = template;
            _length += SetHeaderBytes;
        }
        var k = r.Key;
        if (v6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(_buf.AsSpan(_length), k.Src); _length += 16;
            BinaryPrimitives.WriteUInt128BigEndian(_buf.AsSpan(_length), k.Dst); _length += 16;
        }
        else
        {
            Put32((uint)k.Src);
            Put32((uint)k.Dst);
        }
        bool icmp = k.Proto is 1 or 58;
        Put16(icmp ? (ushort)0 : k.SrcPort);
        Put16(icmp ? (ushort)0 : k.DstPort);
        _buf[_length++] = k.Proto;
        _buf[_length++] = r.TcpFlags;
        Put16(icmp ? k.IcmpTypeCode : (ushort)0);
        Put64(r.Octets);
        Put64(r.Packets);
        Put64((ulong)r.StartMillis);
        Put64((ulong)r.EndMillis);
        _buf[_length++] = (byte)r.EndReason;
        _buf[_length++] = k.ForwardingStatus;
        Put32(r.SrcIdentity);
        Put32(r.DstIdentity);
        _buf[_length++] = r.DropReason;
        Records++;
        return true;
    }

    private void CloseSet()
    {
        if (_setStart < 0) return;
        BinaryPrimitives.WriteUInt16BigEndian(_buf.AsSpan(_setStart), _setTemplate);
        BinaryPrimitives.WriteUInt16BigEndian(_buf.AsSpan(_setStart + 2), (ushort)(_length - _setStart));
        _setStart = -1;
    }

    /// <summary>Closes the open set and fills in the message length: the datagram to send.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        CloseSet();
        BinaryPrimitives.WriteUInt16BigEndian(_buf.AsSpan(2), (ushort)_length);
        return _buf.AsSpan(0, _length);
    }

    private void Put16(ushort v) { BinaryPrimitives.WriteUInt16BigEndian(_buf.AsSpan(_length), v); _length += 2; }
    private void Put32(uint v) { BinaryPrimitives.WriteUInt32BigEndian(_buf.AsSpan(_length), v); _length += 4; }
    private void Put64(ulong v) { BinaryPrimitives.WriteUInt64BigEndian(_buf.AsSpan(_length), v); _length += 8; }

    private static int Sum((ushort Id, ushort Length)[] fields) => fields.Sum(f => f.Length);
}
