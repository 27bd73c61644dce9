using Prometheus;

namespace Dataplane.Host.Observe;

/// <summary>
/// Transparent encryption's metrics, read from the node's WireGuard device at each scrape. Upstream Cilium exports
/// none for WireGuard; the names of the two that GKE's Cilium (Dataplane V2) has are kept —
/// <c>cilium_wireguard_peers_total</c> and <c>cilium_wireguard_transfer_bytes_total{target_node_name,type=rx|tx}</c>
/// (a counter here: the bytes only grow) — and the rest are the dataplane's own: handshakes by event, drops by
/// reason, each peer's last handshake.
/// </summary>
internal sealed class WireGuardMetrics
{
    private readonly Gauge _peers, _lastHandshake;
    private readonly Counter _bytes, _handshakes, _drops, _packets;

    public WireGuardMetrics(IMetricFactory f)
    {
        _peers = f.CreateGauge("cilium_wireguard_peers_total", "WireGuard peers of this node (the other nodes and gateways that publish a key)");
        _bytes = f.CreateCounter("cilium_wireguard_transfer_bytes_total", "Bytes through the WireGuard tunnel per peer: type rx (received from it), tx (sent to it)",
            new CounterConfiguration { LabelNames = ["target_node_name", "type"] });
        _lastHandshake = f.CreateGauge("dataplane_wireguard_last_handshake_seconds", "Unix time of each peer's last completed handshake (absent before the first)",
            new GaugeConfiguration { LabelNames = ["target_node_name"] });
        _handshakes = f.CreateCounter("dataplane_wireguard_handshakes_total", "WireGuard handshake messages and sessions, by event: initiation_sent, response_sent, completed (a new session)",
            new CounterConfiguration { LabelNames = ["event"] });
        _packets = f.CreateCounter("dataplane_wireguard_packets_total", "WireGuard transport packets (keepalives included) by direction: rx, tx",
            new CounterConfiguration { LabelNames = ["type"] });
        _drops = f.CreateCounter("dataplane_wireguard_drops_total", "Packets the WireGuard device or its ports dropped, by reason (replay, decrypt, key_expired, unknown_index, no_neighbor, …)",
            new CounterConfiguration { LabelNames = ["reason"] });
    }

    public void Update(Api.EncryptionStatus? s)
    {
        if (s is null) return;
        _peers.Set(s.Peers.Count);
        foreach (var p in s.Peers)
        {
            string node = p.Node.Length > 0 ? p.Node : p.PublicKey;
            _bytes.WithLabels(node, "rx").IncTo(p.RxBytes);
            _bytes.WithLabels(node, "tx").IncTo(p.TxBytes);
            if (p.LastHandshake is { } at) _lastHandshake.WithLabels(node).Set(at.ToUnixTimeMilliseconds() / 1000.0);
        }
        foreach (var (name, value) in s.Counters)
        {
            if (Handshake(name) is { } e) _handshakes.WithLabels(e).IncTo(value);
            else if (name is "RxPackets" or "TxPackets") _packets.WithLabels(name == "RxPackets" ? "rx" : "tx").IncTo(value);
            else if (DropReason(name) is { } r && value > 0) _drops.WithLabels(r).IncTo(value);
        }
    }

    private static string? Handshake(string counter) => counter switch
    {
        "HandshakeInitiationsSent" => "initiation_sent",
        "HandshakeResponsesSent" => "response_sent",
        "HandshakesCompleted" => "completed",
        _ => null,
    };

    /// <summary>A drop counter's reason as a label value (DropKeyExpired → key_expired, NoNeighborDrops → no_neighbor); null for other counters.</summary>
    internal static string? DropReason(string counter)
    {
        string? name = counter.StartsWith("Drop", StringComparison.Ordinal) ? counter[4..]
            : counter.EndsWith("Drops", StringComparison.Ordinal) ? counter[..^5] : null;
        if (string.IsNullOrEmpty(name)) return null;
        var b = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) b.Append('_');
            b.Append(char.ToLowerInvariant(name[i]));
        }
        return b.ToString();
    }
}
