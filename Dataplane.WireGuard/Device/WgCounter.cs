namespace Dataplane.WireGuard.Device;

/// <summary>What the device counts: traffic, handshakes, and every reason a packet or message was dropped.</summary>
public enum WgCounter
{
    None,
    TxPackets, RxPackets, KeepalivesSent, KeepalivesReceived,
    HandshakeInitiationsSent, HandshakeResponsesSent, HandshakesCompleted, CookieRepliesSent, CookieRepliesAccepted,
    // Drops on the transport path.
    DropNoPeer, DropNoEndpoint, DropStagedOverflow, DropMalformed, DropUnknownIndex, DropKeyExpired, DropReplay,
    DropDecrypt, DropNotAllowedSource, DropTooBig,
    // Drops on the handshake path.
    DropHandshakeQueueFull, DropMac1, DropUnderLoadNoCookie, DropUnknownPeer, DropHandshakeInvalid,
    DropHandshakeReplay, DropHandshakeFlood, DropCookieInvalid, DropHandshakeGaveUp,
    Count,
}
