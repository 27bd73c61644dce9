using System.Buffers.Binary;
using System.Net;

namespace Dataplane.Bgp.Wire;

/// <summary>Encodes and decodes OPEN bodies; decoding reports the RFC 4271 §6.2 error instead of throwing.</summary>
public static class OpenCodec
{
    private const byte CapabilitiesParameter = 2;

    public static bool TryDecode(ReadOnlySpan<byte> body, out OpenMessage open, out BgpError error)
    {
        open = null!;
        error = default;
        if (body.Length < 10)
        {
            error = BgpError.Header(HeaderError.BadMessageLength, LengthData(body.Length + MessageFraming.HeaderLength));
            return false;
        }
        byte version = body[0];
        if (version != 4)
        {
            // Data: the largest version we support (2 octets).
            error = BgpError.Open(OpenError.UnsupportedVersionNumber, [0, 4]);
            return false;
        }
        ushort myAs = BinaryPrimitives.ReadUInt16BigEndian(body[1..]);
        ushort hold = BinaryPrimitives.ReadUInt16BigEndian(body[3..]);
        var id = new IPAddress(body.Slice(5, 4));
        int optLen = body[9];
        if (hold is 1 or 2)
        {
            error = BgpError.Open(OpenError.UnacceptableHoldTime);
            return false;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(body[5..]) == 0)
        {
            error = BgpError.Open(OpenError.BadBgpIdentifier);
            return false;
        }
        if (optLen != body.Length - 10)
        {
            error = BgpError.Open(OpenError.Unspecific);
            return false;
        }
        var families = new List<Family>();
        bool routeRefresh = false;
        uint? as4 = null;
        GracefulRestartCapability? gr = null;
        var p = body[10..];
        while (!p.IsEmpty)
        {
            if (p.Length < 2 || p.Length < 2 + p[1]) { error = BgpError.Open(OpenError.Unspecific); return false; }
            byte type = p[0];
            var value = p.Slice(2, p[1]);
            p = p[(2 + p[1])..];
            if (type != CapabilitiesParameter)
            {
                error = BgpError.Open(OpenError.UnsupportedOptionalParameter);
                return false;
            }
            while (!value.IsEmpty)
            {
                if (value.Length < 2 || value.Length < 2 + value[1]) { error = BgpError.Open(OpenError.Unspecific); return false; }
                var code = (CapabilityCode)value[0];
                var cap = value.Slice(2, value[1]);
                value = value[(2 + value[1])..];
                switch (code)
                {
                    case CapabilityCode.Multiprotocol when cap.Length == 4:
                        families.Add(new Family((Afi)BinaryPrimitives.ReadUInt16BigEndian(cap), (Safi)cap[3]));
                        break;
                    case CapabilityCode.RouteRefresh:
                        routeRefresh = true;
                        break;
                    case CapabilityCode.FourOctetAs when cap.Length == 4:
                        as4 = BinaryPrimitives.ReadUInt32BigEndian(cap);
                        break;
                    case CapabilityCode.GracefulRestart when cap.Length >= 2 && (cap.Length - 2) % 4 == 0:
                        gr = DecodeGracefulRestart(cap);
                        break;
                    case CapabilityCode.Multiprotocol or CapabilityCode.FourOctetAs or CapabilityCode.GracefulRestart:
                        error = BgpError.Open(OpenError.Unspecific);
                        return false;
                    default:
                        break; // Unknown capabilities are ignored (RFC 5492 §3).
                }
            }
        }
        open = new OpenMessage(version, myAs, hold, id, new Capabilities
        {
            Families = families, RouteRefresh = routeRefresh, FourOctetAs = as4, GracefulRestart = gr,
        });
        return true;
    }

    private static GracefulRestartCapability DecodeGracefulRestart(ReadOnlySpan<byte> cap)
    {
        ushort head = BinaryPrimitives.ReadUInt16BigEndian(cap);
        var fams = new List<GracefulRestartFamily>();
        for (int i = 2; i + 4 <= cap.Length; i += 4)
        {
            var fam = new Family((Afi)BinaryPrimitives.ReadUInt16BigEndian(cap[i..]), (Safi)cap[i + 2]);
            fams.Add(new GracefulRestartFamily(fam, (cap[i + 3] & 0x80) != 0));
        }
        return new GracefulRestartCapability((head & 0x8000) != 0, (ushort)(head & 0x0FFF), fams);
    }

    public static byte[] Encode(OpenMessage open)
    {
        var caps = new List<byte>();
        foreach (var f in open.Capabilities.Families)
            AddCap(caps, CapabilityCode.Multiprotocol, [(byte)((ushort)f.Afi >> 8), (byte)f.Afi, 0, (byte)f.Safi]);
        if (open.Capabilities.RouteRefresh) AddCap(caps, CapabilityCode.RouteRefresh, []);
        if (open.Capabilities.FourOctetAs is uint as4)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, as4);
            AddCap(caps, CapabilityCode.FourOctetAs, b);
        }
        if (open.Capabilities.GracefulRestart is { } gr)
        {
            var b = new List<byte>();
            ushort head = (ushort)((gr.Restarting ? 0x8000 : 0) | (gr.RestartTimeSeconds & 0x0FFF));
            b.Add((byte)(head >> 8));
            b.Add((byte)head);
            foreach (var f in gr.Families)
            {
                b.Add((byte)((ushort)f.Family.Afi >> 8));
                b.Add((byte)f.Family.Afi);
                b.Add((byte)f.Family.Safi);
                b.Add(f.ForwardingPreserved ? (byte)0x80 : (byte)0);
            }
            AddCap(caps, CapabilityCode.GracefulRestart, [.. b]);
        }
        // One optional parameter per capability keeps each parameter under 255 bytes.
        var body = new byte[10 + caps.Count];
        body[0] = open.Version;
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(1), open.MyAs);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(3), open.HoldTime);
        open.BgpIdentifier.TryWriteBytes(body.AsSpan(5, 4), out _);
        body[9] = (byte)caps.Count;
        caps.CopyTo(body, 10);
        return MessageFraming.Frame(MessageType.Open, body);
    }

    private static void AddCap(List<byte> into, CapabilityCode code, byte[] value)
    {
        into.Add(CapabilitiesParameter);
        into.Add((byte)(2 + value.Length));
        into.Add((byte)code);
        into.Add((byte)value.Length);
        into.AddRange(value);
    }

    internal static byte[] LengthData(int length) => [(byte)(length >> 8), (byte)length];
}
