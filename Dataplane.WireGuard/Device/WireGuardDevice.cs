using System.Diagnostics;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Cookies;
using Dataplane.WireGuard.Noise;
using Dataplane.WireGuard.Peers;
using Dataplane.WireGuard.Transport;

namespace Dataplane.WireGuard.Device;

/// <summary>
/// A WireGuard interface in userspace: our static identity, the peers and their cryptokey routing, the session
/// index table, counters, and a control loop (its own thread) that does all handshake work and timers. The
/// transport path (<see cref="EncryptBatch"/>, <see cref="DecryptBatch"/>, in TransportPath.cs) runs on the
/// caller's worker threads over batches and never waits for a handshake.
/// </summary>
public sealed partial class WireGuardDevice : IDisposable
{
    private readonly Lock _configLock = new();
    private readonly Dictionary<WgKey, Peer> _peers = [];
    private volatile AllowedIps _allowedIps = AllowedIps.Empty;
    private readonly IndexTable _indices = new();
    private readonly CookieChecker _cookies;
    private readonly IDatagramSender _sender;
    private readonly long[] _counters = new long[(int)WgCounter.Count];
    private readonly long _rejectTicks, _rekeyTicks, _rekeyOnReceiveTicks;

    public WireGuardDevice(WgKey privateKey, IDatagramSender sender, WireGuardTimers? timers = null)
    {
        Identity = new StaticIdentity(privateKey);
        Timers = timers ?? WireGuardTimers.Default;
        _sender = sender;
        _cookies = new CookieChecker(Identity, Timers.CookieRefreshTime);
        _rejectTicks = ToTicks(Timers.RejectAfterTime);
        _rekeyTicks = ToTicks(Timers.RekeyAfterTime);
        _rekeyOnReceiveTicks = ToTicks(Timers.RekeyOnReceiveAge);
        _control = new Thread(ControlLoop) { IsBackground = true, Name = "wireguard-control" };
        _control.Start();
    }

    public StaticIdentity Identity { get; }
    public WgKey PublicKey => Identity.PublicKey;
    public WireGuardTimers Timers { get; }

    internal static long ToTicks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    public long Counter(WgCounter c) => Interlocked.Read(ref _counters[(int)c]);

    /// <summary>Every counter with its name, for `status` and metrics.</summary>
    public IEnumerable<(WgCounter Counter, long Value)> Counters()
    {
        for (var c = WgCounter.None + 1; c < WgCounter.Count; c++) yield return (c, Counter(c));
    }

    internal void Count(WgCounter c, long n = 1) => Interlocked.Add(ref _counters[(int)c], n);

    public IReadOnlyList<Peer> Peers { get { lock (_configLock) return [.. _peers.Values]; } }

    /// <summary>How many peers are configured (no copy: for per-batch checks).</summary>
    public int PeerCount => Volatile.Read(ref _peerCount);
    private int _peerCount;

    public Peer? FindPeer(WgKey publicKey) { lock (_configLock) return _peers.GetValueOrDefault(publicKey); }

    public AllowedIps AllowedIps => _allowedIps;

    /// <summary>
    /// Replaces the peer set: peers whose key stays keep their sessions (so a config reload loses no packet of an
    /// established flow); removed peers' sessions are forgotten; endpoints given here replace learned ones.
    /// Validated whole before anything changes.
    /// </summary>
    public void SetPeers(IEnumerable<PeerConfig> configs)
    {
        var list = configs.ToList();
        var dup = list.GroupBy(p => p.PublicKey).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"peer {dup.Key} is listed twice");
        if (list.Any(p => p.PublicKey == PublicKey)) throw new ArgumentException("a peer has this device's own public key");
        if (list.Any(p => p.PersistentKeepalive is < 0 or > 65535)) throw new ArgumentException("persistent keepalive must be 0..65535 seconds");
        lock (_configLock)
        {
            var keep = new Dictionary<WgKey, Peer>();
            var routes = new List<(System.Net.IPNetwork, Peer)>();
            foreach (var c in list)
            {
                if (!_peers.TryGetValue(c.PublicKey, out var peer)) peer = new Peer(Identity, c.PublicKey, Timers);
                lock (peer.Handshake.Lock) c.PresharedKey.CopyTo(peer.Handshake.PresharedKey);
                if (c.Endpoint is not null) peer.Endpoint = WgEndpoint.From(c.Endpoint);
                peer.PersistentKeepalive = c.PersistentKeepalive;
                keep[c.PublicKey] = peer;
                foreach (var prefix in c.AllowedIps) routes.Add((prefix, peer));
            }
            foreach (var (key, old) in _peers)
                if (!keep.ContainsKey(key)) { _indices.RemovePeer(old); old.Current = old.Previous = old.Next = null; }
            _peers.Clear();
            foreach (var (k, p) in keep) _peers[k] = p;
            _allowedIps = AllowedIps.Build(routes);
            Volatile.Write(ref _peerCount, _peers.Count);
        }
    }

    /// <summary>Starts a handshake with a peer now (as the first packet to it would), e.g. to bring a tunnel up eagerly.</summary>
    public void Connect(Peer peer) => RequestHandshake(peer);

    private void RequestHandshake(Peer peer)
    {
        if (Interlocked.Exchange(ref peer.HandshakeRequested, 1) == 0) _wake.Set();
    }

    /// <summary>Installs the session a handshake just produced in its slot (§5.4.6) and indexes it.</summary>
    private void InstallKeypair(Peer peer, Keypair kp)
    {
        lock (peer)
        {
            if (kp.IsInitiator)
            {
                var next = peer.Next;
                var replaced = peer.Previous;
                if (next is not null) { peer.Previous = next; peer.Next = null; if (peer.Current is { } cur) Retire(cur); }
                else peer.Previous = peer.Current;
                if (replaced is not null && !ReferenceEquals(replaced, peer.Previous)) Retire(replaced);
                peer.Current = kp;
            }
            else
            {
                if (peer.Next is { } oldNext) Retire(oldNext);
                if (peer.Previous is { } oldPrev) Retire(oldPrev);
                peer.Next = kp;
                peer.Previous = null;
            }
            _indices.SetKeypair(kp);
        }
        peer.MarkHandshake();
        peer.ZeroKeysAt = Stopwatch.GetTimestamp() + 3 * _rejectTicks;
    }

    /// <summary>The responder's pending session is confirmed by the first packet that decrypts with it.</summary>
    private void PromoteNext(Peer peer, Keypair kp)
    {
        lock (peer)
        {
            if (!ReferenceEquals(peer.Next, kp)) return;
            if (peer.Previous is { } old) Retire(old);
            peer.Previous = peer.Current;
            peer.Current = kp;
            peer.Next = null;
        }
        Interlocked.Exchange(ref peer.FlushRequested, 1);
        _wake.Set();
    }

    /// <summary>
    /// Forgets a session: its index stops resolving. The AEAD contexts are left to the collector rather than
    /// disposed, because a worker may be inside one this instant.
    /// </summary>
    private void Retire(Keypair kp) => _indices.Remove(kp.LocalIndex);

    private void ZeroSessions(Peer peer)
    {
        lock (peer)
        {
            foreach (var kp in new[] { peer.Current, peer.Previous, peer.Next })
                if (kp is not null) Retire(kp);
            peer.Current = peer.Previous = peer.Next = null;
        }
        lock (peer.Handshake.Lock)
        {
            if (peer.Handshake.State != HandshakeState.Zeroed) _indices.Remove(peer.Handshake.LocalIndex);
            peer.Handshake.Clear();
        }
    }

    public void Dispose()
    {
        _stop = true;
        _wake.Set();
        _control.Join(TimeSpan.FromSeconds(5));
        _wake.Dispose();
    }
}
