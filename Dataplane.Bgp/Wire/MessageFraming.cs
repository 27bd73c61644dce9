using System.Buffers.Binary;

namespace Dataplane.Bgp.Wire;

/// <summary>
/// The 19-byte message header (RFC 4271 §4.1): all-ones marker, length, type. Validates the header and the
/// per-type length bounds of §6.1 so the body parsers see only plausibly sized bodies.
/// </summary>
public static class MessageFraming
{
    public const int HeaderLength = 19;
    public const int MaxMessageLength = 4096;

    /// <summary>Checks a header; on success gives the body length and type.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out MessageType type, out int bodyLength, out BgpError error)
    {
        type = default;
        bodyLength = 0;
        error = default;
        for (int i = 0; i < 16; i++)
        {
            if (header[i] != 0xFF)
            {
                error = BgpError.Header(HeaderError.ConnectionNotSynchronized);
                return false;
            }
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(header[16..]);
        byte t = header[18];
        bool lengthOk = t switch
        {
            1 => length >= 29,
            2 => length >= 23,
            3 => length >= 21,
            4 => length == 19,
            5 => length == 23,
            _ => true,
        };
        if (t is < 1 or > 5)
        {
            error = BgpError.Header(HeaderError.BadMessageType, [t]);
            return false;
        }
        if (length < HeaderLength || length > MaxMessageLength || !lengthOk)
        {
            error = BgpError.Header(HeaderError.BadMessageLength, header.Slice(16, 2).ToArray());
            return false;
        }
        type = (MessageType)t;
        bodyLength = length - HeaderLength;
        return true;
    }

    /// <summary>Prepends a header to <paramref name="body"/>.</summary>
    public static byte[] Frame(MessageType type, ReadOnlySpan<byte> body)
    {
        var msg = new byte[HeaderLength + body.Length];
        WriteHeader(msg, type, msg.Length);
        body.CopyTo(msg.AsSpan(HeaderLength));
        return msg;
    }

    public static void WriteHeader(Span<byte> dest, MessageType type, int totalLength)
    {
        dest[..16].Fill(0xFF);
        BinaryPrimitives.WriteUInt16BigEndian(dest[16..], (ushort)totalLength);
        dest[18] = (byte)type;
    }

    public static byte[] Keepalive() => Frame(MessageType.Keepalive, []);
}
