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
    // Drops on the handshake path. DropHandshakeStale: a response or cookie reply to an initiation we no longer wait
    // for (retried with a fresh index, or already answered) — normal when a response is slower than our retry.
    DropHandshakeQueueFull, DropMac1, DropUnderLoadNoCookie, DropUnknownPeer, DropHandshakeInvalid,
    DropHandshakeReplay, DropHandshakeFlood, DropCookieInvalid, DropHandshakeGaveUp, DropHandshakeStale,
    Count,
}
