using System.Buffers.Binary;
using System.Net;

namespace Dataplane.Bgp.Wire;

/// <summary>An OPEN message (RFC 4271 §4.2) with its capabilities (RFC 5492).</summary>
public sealed record OpenMessage(byte Version, ushort MyAs, ushort HoldTime, IPAddress BgpIdentifier, Capabilities Capabilities)
{
    /// <summary>AS_TRANS (RFC 6793): the 2-octet placeholder for a 4-octet AS.</summary>
    public const ushort AsTrans = 23456;

    /// <summary>The sender's AS: the 4-octet capability when present, else the 2-octet field.</summary>
    public uint AsNumber => Capabilities.FourOctetAs ?? MyAs;

    public uint Identifier => BinaryPrimitives.ReadUInt32BigEndian(BgpIdentifier.GetAddressBytes());
}
