using System.Net;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Session;

/// <summary>Message handling per state (RFC 4271 §8.2.2) and the Adj-RIB-In/Out work it triggers.</summary>
public sealed partial class BgpPeer
{
    private void OnMessage(BgpConnection c, MessageType type, byte[] body)
    {
        if (type == MessageType.Notification)
        {
            LastError = NotificationMessage.Decode(body);
            LastErrorSentByUs = false;
            Log($"NOTIFICATION {LastError} received");
            Drop(c, null, "notification received");
            return;
        }
        // Any message restarts the hold timer (once negotiated).
        if (c.HoldMs > 0) c.HoldDeadline = Now + c.HoldMs;

        switch (c.State)
        {
            case SessionState.OpenSent when type == MessageType.Open:
                OnOpen(c, body);
                break;
            case SessionState.OpenSent:
                Drop(c, new BgpError(ErrorCode.FiniteStateMachine, (byte)FsmError.UnexpectedMessageInOpenSent), $"{type} in OpenSent");
                break;
            case SessionState.OpenConfirm when type == MessageType.Keepalive:
                Establish(c);
                break;
            case SessionState.OpenConfirm:
                Drop(c, new BgpError(ErrorCode.FiniteStateMachine, (byte)FsmError.UnexpectedMessageInOpenConfirm), $"{type} in OpenConfirm");
                break;
            case SessionState.Established:
                OnEstablishedMessage(c, type, body);
                break;
        }
    }

    private void OnOpen(BgpConnection c, byte[] body)
    {
        if (!OpenCodec.TryDecode(body, out var open, out var error)) { Drop(c, error, "bad OPEN"); return; }
        if (open.AsNumber != Config.RemoteAs)
        {
            Drop(c, BgpError.Open(OpenError.BadPeerAs), $"peer AS {open.AsNumber}, expected {Config.RemoteAs}");
            return;
        }
        if (open.Identifier == Identifier(_speaker.RouterId))
        {
            Drop(c, BgpError.Open(OpenError.BadBgpIdentifier), "peer uses our BGP identifier");
            return;
        }
        c.RemoteOpen = open;

        // Collision detection (§6.8): the connection opened by the side with the higher BGP identifier wins.
        var other = _connections.FirstOrDefault(o => o != c && o.State is SessionState.OpenConfirm or SessionState.Established);
        if (other is not null)
        {
            if (other.State == SessionState.Established) { Drop(c, Cease(CeaseError.ConnectionCollisionResolution), "collision with established"); return; }
            bool keepLocallyInitiated = Identifier(_speaker.RouterId) > open.Identifier;
            var loser = (c.Inbound == keepLocallyInitiated) ? c : other;
            Drop(loser, Cease(CeaseError.ConnectionCollisionResolution), "connection collision");
            if (loser == c) return;
        }

        // Negotiation: hold time is the smaller proposal; keepalives every third of it (§4.2, §10).
        int hold = Math.Min(Config.HoldTime, open.HoldTime);
        c.HoldMs = hold * 1000;
        c.HoldDeadline = hold == 0 ? long.MaxValue : Now + c.HoldMs;
        c.KeepaliveDue = hold == 0 ? long.MaxValue : Now + c.HoldMs / 3;
        c.FourOctetAs = open.Capabilities.FourOctetAs is not null;
        // No MP capability at all means plain IPv4 unicast (RFC 4760 §8).
        var theirs = open.Capabilities.Families.Count == 0 ? [Family.Ipv4Unicast] : open.Capabilities.Families;
        foreach (var f in theirs.Where(f => f == Family.Ipv4Unicast || f == Family.Ipv6Unicast)) c.Families.Add(f);
        c.State = SessionState.OpenConfirm;
        c.Send(MessageFraming.Keepalive());
        UpdateState();
    }

    private void Establish(BgpConnection c)
    {
        c.State = SessionState.Established;
        _established = c;
        _restartBit = false;
        _adjRibOut.Clear();
        _connectRetryDue = long.MaxValue;
        var open = c.RemoteOpen!;
        _identity = new PeerIdentity(Config.Address, open.AsNumber, open.Identifier, IsInternal);
        // The other connection, if any, loses (it never got to OpenConfirm first).
        foreach (var o in _connections.Where(o => o != c).ToArray()) Drop(o, Cease(CeaseError.ConnectionCollisionResolution), "collision");
        // Peer restarted without graceful-restart support: its old routes are no longer valid.
        if (open.Capabilities.GracefulRestart is null) FlushAdjRibIn(r => r.Stale);
        UpdateState();
        SendRoutes(c, _localRoutes());
        foreach (var f in c.Families) c.Send(UpdateWriter.EndOfRib(f));
    }

    private void OnEstablishedMessage(BgpConnection c, MessageType type, byte[] body)
    {
        switch (type)
        {
            case MessageType.Keepalive:
                break;
            case MessageType.Update:
                if (!UpdateParser.TryParse(body, c.FourOctetAs, out var update, out var error)) { Drop(c, error, "bad UPDATE"); return; }
                ApplyUpdate(c, update);
                break;
            case MessageType.RouteRefresh:
                var family = RouteRefreshMessage.Decode(body);
                if (c.Families.Contains(family)) SendRoutes(c, _localRoutes().Where(r => r.Prefix.Family == family).ToList());
                break;
            default:
                Drop(c, new BgpError(ErrorCode.FiniteStateMachine, (byte)FsmError.UnexpectedMessageInEstablished), $"{type} in Established");
                break;
        }
    }

    private void ApplyUpdate(BgpConnection c, UpdateMessage u)
    {
        var peer = _identity!;
        var attrs = u.Attributes;
        if (u.Announced.Count > 0 && !IsInternal && attrs.FirstAs != Config.RemoteAs)
        {
            // §6.3: an eBGP peer's AS_PATH must start with its own AS.
            Drop(c, BgpError.Update(UpdateError.MalformedAsPath), $"AS_PATH does not start with {Config.RemoteAs}");
            return;
        }
        foreach (var p in u.Withdrawn)
            if (_adjRibIn.Remove(p)) _rib.Remove(p, peer);
        // Loop prevention: a path already through our AS is ignored (treated as withdrawn).
        bool loop = attrs.AsPath.Any(s => s.Asns.Contains(_speaker.LocalAs));
        for (int i = 0; i < u.Announced.Count; i++)
        {
            var p = u.Announced[i];
            var nh = u.NextHopAt(i);
            if (loop || nh is null)
            {
                if (_adjRibIn.Remove(p)) _rib.Remove(p, peer);
                continue;
            }
            var route = new LearnedRoute(p, nh, attrs, peer);
            _adjRibIn[p] = route;
            _rib.Upsert(route);
        }
        if (u.EndOfRib is Family eor)
        {
            // RFC 4724 §4.2: routes still stale for this family after End-of-RIB are gone.
            FlushAdjRibIn(r => r.Stale && r.Prefix.Family == eor);
        }
    }

    private void MarkAllStale()
    {
        foreach (var (p, r) in _adjRibIn.ToArray())
        {
            var stale = r with { Stale = true };
            _adjRibIn[p] = stale;
            _rib.Upsert(stale);
        }
    }

    private void FlushAdjRibIn(Func<LearnedRoute, bool> which)
    {
        foreach (var (p, r) in _adjRibIn.Where(kv => which(kv.Value)).ToArray())
        {
            _adjRibIn.Remove(p);
            _rib.Remove(p, r.Peer);
        }
        if (!_adjRibIn.Values.Any(r => r.Stale)) _staleDeadline = long.MaxValue;
    }

    /// <summary>Announces local routes on <paramref name="c"/>, grouping those with identical attributes
    /// into shared UPDATEs.</summary>
    private void SendRoutes(BgpConnection c, IEnumerable<LocalRoute> routes)
    {
        var groups = new Dictionary<string, (PathAttributes Attrs, IPAddress NextHop, List<BgpPrefix> Prefixes)>();
        var refused = new List<BgpPrefix>();
        var export = Export;
        foreach (var original in routes)
        {
            if (!c.Families.Contains(original.Prefix.Family)) continue;
            var r = export is null ? original : export(original);
            if (r is null)
            {
                refused.Add(original.Prefix);
                continue;
            }
            var nh = NextHopFor(c, r);
            if (nh is null) { Log($"no next hop for {r.Prefix} on this session, not announced"); continue; }
            var attrs = new PathAttributes
            {
                Origin = r.Origin,
                // eBGP: prepend our AS; iBGP: an empty path and a LOCAL_PREF (§5.1.2, §5.1.5).
                AsPath = IsInternal ? [] : [new AsPathSegment(AsPathSegmentType.Sequence, [_speaker.LocalAs])],
                LocalPref = IsInternal ? r.LocalPref ?? 100 : null,
                MultiExitDisc = r.MultiExitDisc,
                Communities = r.Communities,
            };
            string key = $"{nh}|{r.Prefix.IsIpv4}|{r.Origin}|{attrs.LocalPref}|{r.MultiExitDisc}|{string.Join(',', r.Communities)}";
            if (!groups.TryGetValue(key, out var g)) groups[key] = g = (attrs, nh, []);
            g.Prefixes.Add(r.Prefix);
            _adjRibOut.Add(r.Prefix);
        }
        foreach (var g in groups.Values)
            foreach (var msg in UpdateWriter.Announce(g.Attrs, g.NextHop, g.Prefixes, c.FourOctetAs)) c.Send(msg);
        SendWithdrawals(c, refused);
    }

    /// <summary>Withdraws those of <paramref name="prefixes"/> this peer was actually sent.</summary>
    private void SendWithdrawals(BgpConnection c, IEnumerable<BgpPrefix> prefixes)
    {
        var sent = prefixes.Where(_adjRibOut.Remove).ToList();
        foreach (var group in sent.GroupBy(p => p.IsIpv4))
            foreach (var msg in UpdateWriter.Withdraw(group.ToList())) c.Send(msg);
    }

    private IPAddress? NextHopFor(BgpConnection c, LocalRoute r)
    {
        bool v4 = r.Prefix.IsIpv4;
        if (r.NextHop is not null && (r.NextHop.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) == v4) return r.NextHop;
        bool sessionV4 = c.LocalAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        if (sessionV4 == v4) return c.LocalAddress;
        return v4 ? _speaker.NextHop4 : _speaker.NextHop6;
    }

    private static BgpError Cease(CeaseError sub) => new(ErrorCode.Cease, (byte)sub);

    private static uint Identifier(IPAddress a) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(a.GetAddressBytes());
}
