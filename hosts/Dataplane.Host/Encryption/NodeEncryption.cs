using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using Dataplane.Control.Config;
using Dataplane.Core.Encryption;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Transport;

namespace Dataplane.Host.Encryption;

/// <summary>
/// Transparent encryption on a node (Cilium's WireGuard mode, in userspace): the node's key, one
/// <see cref="WireGuardDevice"/> whose peers are the other nodes of the compiled <see cref="EncryptionPlan"/>, and
/// what the underlay ports need beside it — the datagrams the device's control loop sends (handshakes, keepalives),
/// queued for the port each peer's endpoint was last reached through (a gateway has on-prem ports beside its mesh
/// port: a handshake must leave where the peer is), and the MAC addresses it was reached at.
/// </summary>
public sealed class NodeEncryption : IDatagramSender, IDisposable
{
    private const int MaxQueued = 1024;
    private readonly ConcurrentDictionary<ushort, ConcurrentQueue<(byte[] Datagram, WgEndpoint To)>> _outboxes = new();
    private int _queued;
    private readonly ConcurrentDictionary<UInt128, (ulong Peer, ulong Ours, ushort Port)> _macs = new();
    private long _outboxDrops, _noNeighborDrops, _headroomDrops;

    private NodeEncryption(WgKey privateKey, string keyFile, Dataplane.WireGuard.Peers.WireGuardTimers timers)
    {
        KeyFile = keyFile;
        Device = new WireGuardDevice(privateKey, this, timers);
    }

    /// <summary>
    /// Test-only: Rekey-After-Time in seconds (1..120) instead of the protocol's 120 s, so a test can watch several
    /// rekeys between two nodes; Rekey-Timeout shrinks with it (at most half of it). Not a Cilium setting.
    /// </summary>
    public const string RekeyAfterEnvironment = "DATAPLANE_WG_REKEY_AFTER_SECONDS";

    /// <summary>The node's key from (or newly into) <paramref name="stateDir"/>, and the device it keys.</summary>
    public static NodeEncryption Start(string stateDir, Dataplane.WireGuard.Peers.WireGuardTimers timers) =>
        new(NodeKeyFile.LoadOrCreate(stateDir), NodeKeyFile.PathIn(stateDir), timers);

    /// <summary>The protocol's timers, or with Rekey-After-Time from <see cref="RekeyAfterEnvironment"/>'s value; a bad value is refused (ArgumentException).</summary>
    public static Dataplane.WireGuard.Peers.WireGuardTimers Timers(string? rekeyAfterSeconds)
    {
        var timers = Dataplane.WireGuard.Peers.WireGuardTimers.Default;
        if (string.IsNullOrEmpty(rekeyAfterSeconds)) return timers;
        if (!int.TryParse(rekeyAfterSeconds, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int s) || s is < 1 or > 120)
            throw new ArgumentException("not a whole number of seconds in 1..120");
        var rekey = TimeSpan.FromSeconds(s);
        return timers with { RekeyAfterTime = rekey, RekeyTimeout = rekey / 2 < timers.RekeyTimeout ? rekey / 2 : timers.RekeyTimeout };
    }

    public WireGuardDevice Device { get; }
    public WgKey PublicKey => Device.PublicKey;
    public string KeyFile { get; }
    public EncryptionPlan Plan { get; private set; } = EncryptionPlan.Disabled;
    public ushort Port => Plan.Port;

    public long OutboxDrops => Interlocked.Read(ref _outboxDrops);
    public long NoNeighborDrops => Interlocked.Read(ref _noNeighborDrops);
    public long HeadroomDrops => Interlocked.Read(ref _headroomDrops);
    internal void CountNoNeighbor() => Interlocked.Increment(ref _noNeighborDrops);
    internal void CountHeadroom() => Interlocked.Increment(ref _headroomDrops);

    /// <summary>
    /// The model with this node's public key on its own Node (the annotation Cilium publishes it under), so the
    /// Cluster Mesh entry carries it and the status shows it.
    /// </summary>
    public ConfigModel Annotate(ConfigModel merged)
    {
        var self = merged.Nodes.FirstOrDefault(n => n.Name == merged.Local.Name);
        if (self is null) return merged;
        string key = PublicKey.ToBase64();
        if (self.Annotations.TryGetValue(EncryptionSpec.PublicKeyAnnotation, out var have) && have == key) return merged;
        var annotated = self with { Annotations = self.Annotations.SetItem(EncryptionSpec.PublicKeyAnnotation, key) };
        return merged with { Nodes = merged.Nodes.Replace(self, annotated) };
    }

    /// <summary>Makes the device's peers those of <paramref name="plan"/>; peers that stay keep their sessions.</summary>
    public void Apply(EncryptionPlan plan)
    {
        Plan = plan;
        var configs = ImmutableArray.CreateBuilder<PeerConfig>();
        foreach (var p in plan.Peers)
        {
            if (!WgKey.TryParse(p.PublicKey, out var key) || key == PublicKey) continue;
            configs.Add(new PeerConfig(key, p.AllowedIps, new IPEndPoint(p.Endpoint, plan.Port), default, plan.PersistentKeepalive));
        }
        Device.SetPeers(configs.ToImmutable());
    }

    void IDatagramSender.Send(ReadOnlySpan<byte> datagram, in WgEndpoint to)
    {
        // Never reached through any port yet: no MACs to frame it with, wherever it went.
        if (!_macs.TryGetValue(to.Address, out var via)) { CountNoNeighbor(); return; }
        if (Interlocked.Increment(ref _queued) > MaxQueued)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _outboxDrops);
            return;
        }
        _outboxes.GetOrAdd(via.Port, _ => new()).Enqueue((datagram.ToArray(), to));
    }

    /// <summary>The next datagram for port <paramref name="port"/> to send.</summary>
    internal bool TryTakeDatagram(ushort port, out (byte[] Datagram, WgEndpoint To) item)
    {
        item = default;
        if (!_outboxes.TryGetValue(port, out var queue) || !queue.TryDequeue(out item)) return false;
        Interlocked.Decrement(ref _queued);
        return true;
    }

    /// <summary>Remembers the port and MACs a frame to/from <paramref name="address"/> used (written only when they change).</summary>
    internal void Learn(UInt128 address, ulong peerMac, ulong ourMac, ushort port)
    {
        if (!_macs.TryGetValue(address, out var have) || have.Peer != peerMac || have.Ours != ourMac || have.Port != port)
            _macs[address] = (peerMac, ourMac, port);
    }

    internal bool TryMacs(UInt128 address, out ulong peerMac, out ulong ourMac)
    {
        bool ok = _macs.TryGetValue(address, out var m);
        (peerMac, ourMac, _) = m;
        return ok;
    }

    /// <summary>What `status` shows: the key, each peer (node, endpoint, last handshake, bytes) and the counters.</summary>
    public Api.EncryptionStatus Status()
    {
        var plan = Plan;
        var allowed = Device.AllowedIps;
        var peers = new List<Api.EncryptionPeerStatus>();
        foreach (var peer in Device.Peers)
        {
            string key = peer.PublicKey.ToBase64();
            string node = plan.Peers.FirstOrDefault(p => p.PublicKey == key)?.Node ?? "";
            peers.Add(new Api.EncryptionPeerStatus(node, key, peer.Endpoint.ToString(), peer.LastHandshake, peer.RxBytes, peer.TxBytes,
                [.. allowed.PrefixesOf(peer)]));
        }
        var counters = Device.Counters().ToDictionary(c => c.Counter.ToString(), c => c.Value);
        counters["OutboxDrops"] = OutboxDrops;
        counters["NoNeighborDrops"] = NoNeighborDrops;
        counters["NoRoomDrops"] = HeadroomDrops;
        return new Api.EncryptionStatus("wireguard", PublicKey.ToBase64(), plan.Port, plan.Strict, [.. peers.OrderBy(p => p.Node, StringComparer.Ordinal)], counters);
    }

    public void Dispose() => Device.Dispose();
}
