using System.Net;
using System.Net.Sockets;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Session;

/// <summary>
/// The BGP speaker: a listening socket, configured peers, the routes we originate and the Loc-RIB of what
/// we learn. Local routes are announced to every established peer; learned routes are selected per
/// RFC 4271 §9.1 into <see cref="Rib"/>, whose <see cref="LocRib.Changed"/> event feeds the dataplane.
/// </summary>
public sealed class BgpSpeaker : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<BgpPrefix, LocalRoute> _local = [];
    private readonly Dictionary<IPAddress, BgpPeer> _peers = [];
    private readonly CancellationTokenSource _cts = new();
    private Socket? _listener;
    private bool _stopped;

    public BgpSpeaker(SpeakerConfig config)
    {
        Config = config;
    }

    public SpeakerConfig Config { get; }
    public LocRib Rib { get; } = new();

    /// <summary>The port actually listened on (useful when configured as 0).</summary>
    public int ListenPort => (_listener?.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    public IReadOnlyCollection<BgpPeer> Peers
    {
        get { lock (_lock) return [.. _peers.Values]; }
    }

    /// <summary>Opens the listening socket (if configured).</summary>
    public void Start()
    {
        if (Config.Listen is not { } ep) return;
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (ep.AddressFamily == AddressFamily.InterNetworkV6) s.DualMode = true;
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        s.Bind(ep);
        s.Listen(16);
        _listener = s;
        foreach (var p in Peers.Where(p => p.Config.Password is not null)) TcpMd5.SetKey(s, p.Config.Address, p.Config.Password!);
        _ = Task.Run(AcceptLoop);
    }

    /// <summary>Adds a peer and starts its state machine; <paramref name="export"/> is its initial export
    /// policy (see <see cref="BgpPeer.Export"/>).</summary>
    public BgpPeer AddPeer(PeerConfig config, Func<LocalRoute, LocalRoute?>? export = null)
    {
        var peer = new BgpPeer(config, Config, LocalRoutes, Rib) { Export = export };
        lock (_lock) _peers.Add(config.Address, peer);
        // Unsigned SYNs from this peer must be refused by the listener too.
        if (config.Password is not null && _listener is not null) TcpMd5.SetKey(_listener, config.Address, config.Password);
        peer.Start();
        return peer;
    }

    /// <summary>Closes the session with a Cease (peer de-configured) and forgets the peer and its routes.</summary>
    public async Task RemovePeerAsync(IPAddress address)
    {
        BgpPeer? peer;
        lock (_lock)
        {
            if (!_peers.Remove(address, out peer)) return;
        }
        await peer.StopAsync(notify: true).ConfigureAwait(false);
    }

    public BgpPeer? FindPeer(IPAddress address)
    {
        lock (_lock) return _peers.GetValueOrDefault(BgpConnection.Unmap(address));
    }

    /// <summary>Originates (or replaces) routes and announces them to established peers.</summary>
    public void Announce(params LocalRoute[] routes)
    {
        lock (_lock) foreach (var r in routes) _local[r.Prefix] = r;
        foreach (var p in Peers) p.Post(new PeerEvent.Announce(routes));
    }

    /// <summary>Stops originating prefixes and withdraws them from established peers.</summary>
    public void Withdraw(params BgpPrefix[] prefixes)
    {
        List<BgpPrefix> removed = [];
        lock (_lock) foreach (var p in prefixes) if (_local.Remove(p)) removed.Add(p);
        if (removed.Count == 0) return;
        foreach (var p in Peers) p.Post(new PeerEvent.Withdraw(removed));
    }

    public IReadOnlyCollection<LocalRoute> LocalRoutes()
    {
        lock (_lock) return [.. _local.Values];
    }

    /// <summary>Stops every peer. <paramref name="graceful"/> true drops the TCP connections without a
    /// NOTIFICATION, the way a restarting speaker goes away (RFC 4724), so peers keep our routes.</summary>
    public async Task StopAsync(bool graceful = false)
    {
        lock (_lock)
        {
            if (_stopped) return;
            _stopped = true;
        }
        _cts.Cancel();
        _listener?.Dispose();
        await Task.WhenAll(Peers.Select(p => p.StopAsync(notify: !graceful))).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private async Task AcceptLoop()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket s;
            try { s = await _listener!.AcceptAsync(_cts.Token).ConfigureAwait(false); }
            catch (Exception) { return; }
            var remote = BgpConnection.Unmap(((IPEndPoint)s.RemoteEndPoint!).Address);
            var peer = FindPeer(remote);
            if (peer is null)
            {
                Config.Log?.Invoke($"bgp: connection from unconfigured {remote} refused");
                s.Dispose();
                continue;
            }
            peer.Post(new PeerEvent.TcpAccepted(s));
        }
    }
}
