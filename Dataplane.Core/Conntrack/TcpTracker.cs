using System.Runtime.CompilerServices;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Conntrack;

/// <summary>
/// Per-packet connection state update, as Cilium's ct_update_timeout does it: a TCP connection lives on the
/// SYN timeout until a packet without SYN passes, on the established lifetime after that, and on the close
/// timeout once an RST or a FIN from each side has been seen; other protocols live on the non-TCP lifetime,
/// refreshed by every packet. State bits live in <see cref="CtEntry.State"/>.
/// </summary>
public static class TcpTracker
{
    public const ushort SeenReply = 1 << 0;
    public const ushort SeenNonSyn = 1 << 1;
    public const ushort FinForward = 1 << 2;
    public const ushort FinReply = 1 << 3;
    public const ushort Reset = 1 << 4;

    /// <summary>Updates <paramref name="e"/> for one packet and returns the packet's conntrack state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CtState Update(ref CtEntry e, byte proto, byte tcpFlags, bool reply, bool created, uint now, CtTimeouts t)
    {
        ushort s = e.State;
        if (reply) s |= SeenReply;
        uint lifetime;
        if (proto == IpProtocols.Tcp)
        {
            if ((tcpFlags & TcpFlagBits.Rst) != 0) s |= Reset;
            if ((tcpFlags & TcpFlagBits.Fin) != 0) s |= reply ? FinReply : FinForward;
            if ((tcpFlags & TcpFlagBits.Syn) == 0) s |= SeenNonSyn;
            bool closing = (s & Reset) != 0 || (s & (FinForward | FinReply)) == (FinForward | FinReply);
            lifetime = closing ? t.TcpClose : (s & SeenNonSyn) == 0 ? t.TcpSyn : t.TcpEstablished;
        }
        else lifetime = t.NonTcp;
        e.State = s;
        e.Packets++;
        // Never shorten a closing connection's timer by a late packet, never let it reach 0 (= free).
        e.Expires = Math.Max(1, now + lifetime);
        return created ? CtState.New : reply ? CtState.Reply : CtState.Established;
    }

    /// <summary>True once the connection is being torn down (RST, or FIN both ways).</summary>
    public static bool IsClosing(in CtEntry e) =>
        (e.State & Reset) != 0 || (e.State & (FinForward | FinReply)) == (FinForward | FinReply);
}
