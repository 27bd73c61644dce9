using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Session;

/// <summary>
/// One neighbour's RFC 4271 §8 state machine. All events (socket results, messages, route changes, stop)
/// go through one channel and are handled in order on one loop, so state needs no locks. Up to two
/// connections exist at once (ours and theirs) until collision detection (§6.8) keeps one.
/// </summary>
public sealed partial class BgpPeer
{
    private readonly SpeakerConfig _speaker;
    private readonly Func<IReadOnlyCollection<LocalRoute>> _localRoutes;
    private readonly LocRib _rib;
    private readonly Channel<PeerEvent> _events = Channel.CreateUnbounded<PeerEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<BgpConnection> _connections = [];
    private readonly Dictionary<BgpPrefix, LearnedRoute> _adjRibIn = [];
    /// <summary>Prefixes advertised on the established session, so a route the export policy now refuses
    /// is withdrawn rather than left behind.</summary>
    private readonly HashSet<BgpPrefix> _adjRibOut = [];
    private readonly CancellationTokenSource _stop = new();
    private BgpConnection? _established;
    private bool _connecting;
    private long _connectRetryDue = long.MaxValue;
    private long _staleDeadline = long.MaxValue;
    private PeerIdentity? _identity;
    /// <summary>The Restart State bit is only for the first session after our restart (RFC 4724 §3).</summary>
    private bool _restartBit;
    private Task? _loop;

    internal BgpPeer(PeerConfig config, SpeakerConfig speaker, Func<IReadOnlyCollection<LocalRoute>> localRoutes, LocRib rib)
    {
        Config = config;
        _speaker = speaker;
        _restartBit = speaker.Restarting;
        _localRoutes = localRoutes;
        _rib = rib;
    }

    public PeerConfig Config { get; }
    public SessionState State { get; private set; } = SessionState.Idle;
    public bool IsInternal => Config.RemoteAs == _speaker.LocalAs;
    /// <summary>The OPEN the peer sent on the established session.</summary>
    public OpenMessage? RemoteOpen => _established?.RemoteOpen;
    /// <summary>The last error sent or received in a NOTIFICATION, for diagnostics and tests.</summary>
    public BgpError? LastError { get; private set; }
    public bool LastErrorSentByUs { get; private set; }

    public event Action<BgpPeer, SessionState>? StateChanged;

    /// <summary>Prefixes in the Adj-RIB-In (received, stale ones included) and the Adj-RIB-Out (advertised) of
    /// the session; read from other threads for status, so a moment old.</summary>
    public int PrefixesReceived => _adjRibIn.Count;
    public int PrefixesAdvertised => _adjRibOut.Count;

    /// <summary>
    /// Per-peer export policy: maps a local route to what this peer should receive (other attributes, or
    /// null for "not to this peer"). Null policy sends every local route as is. After changing it, call
    /// <see cref="BgpSpeaker.Announce"/> with the affected routes so the Adj-RIB-Out is re-evaluated.
    /// </summary>
    public Func<LocalRoute, LocalRoute?>? Export { get; set; }

    internal void Start()
    {
        _loop = Task.Run(RunAsync);
        Post(new PeerEvent.Start());
    }

    /// <summary>Closes the session. With <paramref name="notify"/> false the TCP connection just drops,
    /// as in a crash; peers that support graceful restart then keep our routes.</summary>
    internal async Task StopAsync(bool notify)
    {
        Post(new PeerEvent.Stop(notify));
        if (_loop is not null) await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    internal void Post(PeerEvent e) => _events.Writer.TryWrite(e);

    /// <summary>Asks the peer to resend its routes (RFC 2918).</summary>
    public void RequestRouteRefresh(Family family) => Post(new PeerEvent.SendRouteRefresh(family));

    private void Log(string text) => _speaker.Log?.Invoke($"bgp peer {Config.Address}: {text}");

    private static long Now => Environment.TickCount64;

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            long wait = NextDeadline() - Now;
            PeerEvent? e = null;
            if (!_events.Reader.TryRead(out e) && wait > 0)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Min(wait, 1000)));
                try { e = await _events.Reader.ReadAsync(timeout.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
            try
            {
                if (e is not null) Handle(e);
                CheckTimers();
            }
            catch (Exception ex)
            {
                // A bug in our own handling must not take the process down: reset the session instead.
                Log($"internal error, resetting: {ex}");
                foreach (var c in _connections.ToArray()) Drop(c, new BgpError(ErrorCode.Cease, (byte)CeaseError.OutOfResources), "internal error");
            }
        }
    }

    private long NextDeadline()
    {
        long d = Math.Min(_connectRetryDue, _staleDeadline);
        foreach (var c in _connections) d = Math.Min(d, Math.Min(c.HoldDeadline, c.KeepaliveDue));
        return d;
    }

    private void SetState(SessionState s)
    {
        if (s == State) return;
        Log($"{State} -> {s}");
        State = s;
        // Subscribers run on this loop; one that throws must not reset the session.
        foreach (var d in StateChanged?.GetInvocationList() ?? [])
        {
            try { ((Action<BgpPeer, SessionState>)d)(this, s); }
            catch (Exception ex) { Log($"StateChanged handler failed: {ex.Message}"); }
        }
    }

    /// <summary>The peer's state is that of its most advanced connection, or Connect/Active without one.</summary>
    private void UpdateState()
    {
        if (_established is not null) { SetState(SessionState.Established); return; }
        if (_connections.Any(c => c.State == SessionState.OpenConfirm)) { SetState(SessionState.OpenConfirm); return; }
        if (_connections.Count > 0) { SetState(SessionState.OpenSent); return; }
        if (_stop.IsCancellationRequested) { SetState(SessionState.Idle); return; }
        SetState(_connecting ? SessionState.Connect : SessionState.Active);
    }

    private void Handle(PeerEvent e)
    {
        switch (e)
        {
            case PeerEvent.Start:
                StartConnecting();
                break;
            case PeerEvent.Stop s:
                var cease = new BgpError(ErrorCode.Cease, (byte)CeaseError.AdministrativeShutdown);
                foreach (var c in _connections.ToArray()) Drop(c, s.Notify ? cease : null, "stopped", keepStaleRoutes: !s.Notify);
                _stop.Cancel();
                _connectRetryDue = long.MaxValue;
                UpdateState();
                break;
            case PeerEvent.TcpConnected t:
                _connecting = false;
                if (_established is not null || _connections.Any(c => !c.Inbound)) { t.Socket.Dispose(); break; }
                AddConnection(t.Socket, inbound: false);
                break;
            case PeerEvent.TcpFailed f:
                _connecting = false;
                Log($"connect failed: {f.Reason}");
                UpdateState();
                break;
            case PeerEvent.TcpAccepted a:
                if (_established is not null || _connections.Any(c => c.Inbound))
                {
                    // Already have a session: refuse the newcomer with a collision Cease.
                    var extra = new BgpConnection(a.Socket, inbound: true);
                    extra.Start(Channel.CreateUnbounded<PeerEvent>().Writer);
                    extra.Close(new BgpError(ErrorCode.Cease, (byte)CeaseError.ConnectionCollisionResolution));
                    break;
                }
                AddConnection(a.Socket, inbound: true);
                break;
            case PeerEvent.Message m when _connections.Contains(m.Connection):
                OnMessage(m.Connection, m.Type, m.Body);
                break;
            case PeerEvent.FramingError fe when _connections.Contains(fe.Connection):
                Drop(fe.Connection, fe.Error, "malformed header");
                break;
            case PeerEvent.Closed c when _connections.Contains(c.Connection):
                Drop(c.Connection, null, c.Reason, keepStaleRoutes: true);
                break;
            case PeerEvent.Announce an when _established is not null:
                SendRoutes(_established, an.Routes);
                break;
            case PeerEvent.Withdraw w when _established is not null:
                SendWithdrawals(_established, w.Prefixes);
                break;
            case PeerEvent.SendRouteRefresh rr when _established is not null:
                _established.Send(RouteRefreshMessage.Encode(rr.Family));
                break;
        }
    }

    private void StartConnecting()
    {
        if (_stop.IsCancellationRequested) return;
        _connectRetryDue = Now + (long)Config.ConnectRetry.TotalMilliseconds;
        if (Config.Passive || _connecting || _established is not null || _connections.Any(c => !c.Inbound))
        {
            UpdateState();
            return;
        }
        _connecting = true;
        UpdateState();
        var ep = new IPEndPoint(Config.Address, Config.Port);
        var timeout = Config.ConnectRetry;
        _ = Task.Run(async () =>
        {
            var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (Config.Password is not null) TcpMd5.SetKey(s, Config.Address, Config.Password);
                if (Config.LocalAddress is not null) s.Bind(new IPEndPoint(Config.LocalAddress, 0));
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                cts.CancelAfter(timeout);
                await s.ConnectAsync(ep, cts.Token).ConfigureAwait(false);
                Post(new PeerEvent.TcpConnected(s));
            }
            catch (Exception ex)
            {
                s.Dispose();
                Post(new PeerEvent.TcpFailed(ex.Message));
            }
        });
    }

    private void AddConnection(Socket socket, bool inbound)
    {
        if (_stop.IsCancellationRequested) { socket.Dispose(); return; }
        var c = new BgpConnection(socket, inbound);
        _connections.Add(c);
        c.Start(_events.Writer);
        c.Send(OpenCodec.Encode(LocalOpen()));
        // RFC 4271 §8.2.2: a large hold timer (4 minutes) until the OPEN arrives.
        c.HoldDeadline = Now + 240_000;
        Log($"{(inbound ? "accepted" : "connected")}, OPEN sent");
        UpdateState();
    }

    private OpenMessage LocalOpen()
    {
        Family[] families = [Family.Ipv4Unicast, Family.Ipv6Unicast];
        ushort restartTime = Config.GracefulRestartTime ?? _speaker.GracefulRestartTime;
        return new OpenMessage(4, _speaker.LocalAs > ushort.MaxValue ? OpenMessage.AsTrans : (ushort)_speaker.LocalAs,
            Config.HoldTime, _speaker.RouterId, new Capabilities
            {
                Families = families,
                RouteRefresh = true,
                FourOctetAs = _speaker.LocalAs,
                GracefulRestart = restartTime == 0 ? null
                    : new GracefulRestartCapability(_restartBit, restartTime,
                        [.. families.Select(f => new GracefulRestartFamily(f, ForwardingPreserved: true))]),
            });
    }

    /// <summary>Closes a connection (with a NOTIFICATION when given). Losing the established one ends the
    /// session: the peer's routes go, unless it does graceful restart and the loss was not a NOTIFICATION,
    /// in which case they stay, marked stale, for its restart time (RFC 4724 §4.2).</summary>
    private void Drop(BgpConnection c, BgpError? notify, string reason, bool keepStaleRoutes = false)
    {
        if (!_connections.Remove(c)) return;
        if (notify is { } n) { LastError = n; LastErrorSentByUs = true; Log($"NOTIFICATION {n} sent: {reason}"); }
        else Log($"connection closed: {reason}");
        c.Close(notify);
        if (c == _established)
        {
            _established = null;
            var gr = c.RemoteOpen?.Capabilities.GracefulRestart;
            if (keepStaleRoutes && notify is null && gr is not null && gr.RestartTimeSeconds > 0)
            {
                MarkAllStale();
                _staleDeadline = Now + gr.RestartTimeSeconds * 1000L;
            }
            else
            {
                FlushAdjRibIn(_ => true);
            }
        }
        if (_connections.Count == 0 && !_stop.IsCancellationRequested && _connectRetryDue == long.MaxValue)
            _connectRetryDue = Now + (long)Config.ConnectRetry.TotalMilliseconds;
        UpdateState();
    }

    private void CheckTimers()
    {
        long now = Now;
        foreach (var c in _connections.ToArray())
        {
            if (now >= c.HoldDeadline)
            {
                Drop(c, new BgpError(ErrorCode.HoldTimerExpired, 0), "hold timer expired");
                continue;
            }
            if (now >= c.KeepaliveDue)
            {
                c.Send(MessageFraming.Keepalive());
                c.KeepaliveDue = now + c.HoldMs / 3;
            }
        }
        if (now >= _staleDeadline)
        {
            _staleDeadline = long.MaxValue;
            Log("graceful restart window over, flushing stale routes");
            FlushAdjRibIn(r => r.Stale);
        }
        if (now >= _connectRetryDue)
        {
            _connectRetryDue = long.MaxValue;
            if (_established is null) StartConnecting();
        }
    }
}
