using System.Buffers.Binary;

namespace Dataplane.Bgp.Wire;

/// <summary>ROUTE-REFRESH (RFC 2918 §3): AFI, reserved, SAFI — "send me your Adj-RIB-Out for this family again".</summary>
public static class RouteRefreshMessage
{
    public static byte[] Encode(Family family)
    {
        Span<byte> body = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)family.Afi);
        body[2] = 0;
        body[3] = (byte)family.Safi;
        return MessageFraming.Frame(MessageType.RouteRefresh, body);
    }

    /// <summary>Body length 4 is guaranteed by <see cref="MessageFraming"/>.</summary>
    public static Family Decode(ReadOnlySpan<byte> body) => new((Afi)BinaryPrimitives.ReadUInt16BigEndian(body), (Safi)body[3]);
}
