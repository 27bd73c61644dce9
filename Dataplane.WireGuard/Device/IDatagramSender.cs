using Dataplane.WireGuard.Transport;

namespace Dataplane.WireGuard.Device;

/// <summary>
/// How the device's control loop puts handshake messages, cookie replies, keepalives and flushed staged packets
/// on the wire (the UDP socket of a tunnel, or the node's underlay port). Never called on the transport path:
/// there the caller transmits the batch itself.
/// </summary>
public interface IDatagramSender
{
    void Send(ReadOnlySpan<byte> datagram, in WgEndpoint to);
}
