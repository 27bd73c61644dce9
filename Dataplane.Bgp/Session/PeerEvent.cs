using System.Net.Sockets;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Session;

/// <summary>Everything that drives a peer's state machine, handled one at a time on its loop.</summary>
internal abstract record PeerEvent
{
    public sealed record Start : PeerEvent;
    public sealed record Stop(bool Notify) : PeerEvent;
    public sealed record TcpConnected(Socket Socket) : PeerEvent;
    public sealed record TcpFailed(string Reason) : PeerEvent;
    public sealed record TcpAccepted(Socket Socket) : PeerEvent;
    public sealed record Message(BgpConnection Connection, MessageType Type, byte[] Body) : PeerEvent;
    public sealed record FramingError(BgpConnection Connection, BgpError Error) : PeerEvent;
    public sealed record Closed(BgpConnection Connection, string Reason) : PeerEvent;
    public sealed record Announce(IReadOnlyList<LocalRoute> Routes) : PeerEvent;
    public sealed record Withdraw(IReadOnlyList<BgpPrefix> Prefixes) : PeerEvent;
    public sealed record SendRouteRefresh(Family Family) : PeerEvent;
}
