using System.Net;
using Dataplane.WireGuard.Crypto;

namespace Dataplane.WireGuard.Device;

/// <summary>One peer as configured (what `wg set ... peer` takes): key, allowed IPs, optional endpoint, PSK and keepalive.</summary>
public sealed record PeerConfig(WgKey PublicKey, IReadOnlyList<IPNetwork> AllowedIps, IPEndPoint? Endpoint = null,
    WgKey PresharedKey = default, int PersistentKeepalive = 0);
