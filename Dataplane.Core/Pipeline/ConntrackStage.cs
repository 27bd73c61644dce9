using System.Runtime.CompilerServices;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Nat;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Conntrack lookup, before service translation, identity and routing (Cilium's ct_lookup at the start of
/// bpf_lxc / bpf_host): a packet of a known connection is Established (forward) or Reply, has its state and
/// timer advanced, and skips policy; an ICMP error quoting one of its packets is Related and skips policy too;
/// anything else is New and goes through service selection and policy, then to <see cref="ConntrackCommitStage"/>.
/// A connection with address translation is translated here, before routing: forward packets get the
/// connection's backend (DNAT) or translated source (SNAT); replies get the service VIP back as source (reverse
/// DNAT) or the pod back as destination (reverse SNAT) — so routing, identity and policy see the real
/// endpoints. Without a table the stage does nothing.
/// </summary>
public readonly struct ConntrackStage : IStage
{
    public static StageId Id => StageId.Conntrack;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        ConntrackTable? ct = context.Conntrack;
        if (ct is null) return 0;
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        uint now = context.NowSeconds;
        var timeouts = context.Timeouts;
        // The lookups of a batch in passes (DPDK's rte_hash_lookup_bulk, VPP's bihash prefetch), so a 1 M-flow table's
        // cache and TLB misses overlap instead of being taken one packet at a time: (1) every tuple hashed and its
        // index bucket prefetched; (2) the buckets, arrived meanwhile, give the entries, prefetched; (3) the entries
        // of translated connections give their NAT lines, prefetched; then the lookups and updates below.
        CtKey* keys = stackalloc CtKey[n];
        ulong* hashes = stackalloc ulong[n];
        uint* entries = stackalloc uint[n];
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (!Tracked(in p) || (p.Flags & PacketFlags.IcmpError) != 0) continue;
            keys[i] = KeyOf(in p);
            ct.PrefetchBucket(hashes[i] = keys[i].Hash());
        }
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            entries[i] = Tracked(in p) && (p.Flags & PacketFlags.IcmpError) == 0 ? ct.PrefetchEntry(hashes[i]) : ConntrackTable.NoEntry;
        }
        for (int i = 0; i < n; i++)
        {
            uint e = entries[i];
            if (e != ConntrackTable.NoEntry && (ct[e].Flags & CtFlags.Nat) != 0) ct.PrefetchNat(e);
        }
        ulong* dependencySlots = stackalloc ulong[BatchDependencies.Slots];
        var earlier = new BatchDependencies(dependencySlots);
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (!Tracked(in p)) continue;
            if ((p.Flags & PacketFlags.IcmpError) != 0)
            {
                // An ICMP error quoting a packet of a tracked connection (port unreachable, fragmentation
                // needed, time exceeded …) is related to it and passes, as in Cilium; any other is new.
                bool quoted = TryInnerKey(in p, out var inner);
                if (quoted && earlier.DependsOnEarlier(in inner)) return EndWindow(batch, i, seen);
                seen++;
                if (quoted && ct.TryLookup(inner, out uint rel, out _))
                {
                    p.CtState = CtState.Related;
                    p.CtIndex = rel;
                }
                else p.CtState = CtState.New;
                continue;
            }
            if (ct.TryLookup(in keys[i], hashes[i], out uint e, out bool reply) && !Reopens(in p, ct, e, reply))
            {
                ref CtEntry entry = ref ct[e];
                p.CtIndex = e;
                p.CtState = TcpTracker.Update(ref entry, p.L4Proto, p.TcpFlags, reply, created: false, now, timeouts);
                if (!reply) p.PolicyRule = entry.PolicyRule;
                if ((entry.Flags & CtFlags.Nat) != 0)
                {
                    // A backend in another cluster stays reached by (cluster, address), as its first packet was.
                    if (!reply && (entry.Flags & CtFlags.Dnat) != 0) p.DstCluster = ct.Nat(e).Cluster;
                    Translate(ref p, ct, e, reply, now, timeouts);
                }
            }
            else
            {
                if (earlier.DependsOnEarlier(in keys[i])) return EndWindow(batch, i, seen);
                earlier.Add(in keys[i]);
                p.CtState = CtState.New;
            }
            seen++;
        }
        return seen;
    }

    /// <summary>
    /// A client's new connection on the tuple of one being torn down (its port reused within the close timeout, as
    /// tcp_tw_reuse and busy clients do): a forward SYN without ACK on a closing entry. The old entry is removed and
    /// the packet goes on as a new connection — service selection, policy, the L7 redirect and the commit run again
    /// for it, as Linux's conntrack replaces an entry in TIME_WAIT/CLOSE on a new SYN. Kept, it would carry the old
    /// connection's verdict and translation, and the proxy would find no redirect record for it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Reopens(in PacketMeta p, ConntrackTable ct, uint e, bool reply)
    {
        if (reply || p.L4Proto != IpProtocols.Tcp || (p.TcpFlags & (TcpFlagBits.Syn | TcpFlagBits.Ack)) != TcpFlagBits.Syn
            || !TcpTracker.IsClosing(in ct[e])) return false;
        ct.Remove(e);
        return true;
    }

    /// <summary>
    /// Ends the pipeline's window before packet <paramref name="at"/>, which may belong to a connection an
    /// earlier packet of the window opens: it and the rest are looked up again in the next window, after this
    /// one's commit. Never the window's first packet (nothing precedes it), so every window makes progress.
    /// </summary>
    private static int EndWindow(Batch batch, int at, int seen)
    {
        batch.Count = at;
        return seen;
    }

    /// <summary>
    /// Which packets conntrack looks at: IP packets still in flight, neighbour discovery excepted. (Policy and the
    /// commit stage further restrict themselves to forwarded packets and pod → host traffic.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Tracked(in PacketMeta p) =>
        p.Verdict == PacketVerdict.Continue && p.IpVersion != 0 && (p.Flags & PacketFlags.Ndp) == 0;

    /// <summary>
    /// Applies connection <paramref name="e"/>'s translation to a packet of it, then, when the connection
    /// continues in a second entry (a service reached from outside with a remote backend: DNAT then SNAT), that
    /// entry's too, advancing its timer.
    /// </summary>
    public static void Translate(ref PacketMeta p, ConntrackTable ct, uint e, bool reply, uint now, CtTimeouts timeouts)
    {
        for (int hop = 0; hop < 2; hop++)
        {
            ref CtEntry ce = ref ct[e];
            ref CtNat nat = ref ct.Nat(e);
            ushort flags = ce.Flags;
            if (!reply)
            {
                if ((flags & CtFlags.Dnat) != 0) NatRewrite.Destination(ref p, nat.Addr, nat.Port);
                else if ((flags & CtFlags.Snat) != 0) NatRewrite.Source(ref p, nat.Addr, nat.Port);
                if ((flags & CtFlags.ChainForward) == 0) return;
            }
            else
            {
                if ((flags & CtFlags.Dnat) != 0) NatRewrite.Source(ref p, ce.Key.Dst, ce.Key.DstPort);
                else if ((flags & CtFlags.Snat) != 0) NatRewrite.Destination(ref p, ce.Key.Src, ce.Key.SrcPort);
                if ((flags & CtFlags.ChainReply) == 0) return;
            }
            if (!ct.TryLookup(KeyOf(in p), out e, out bool again) || again != reply) return;
            TcpTracker.Update(ref ct[e], p.L4Proto, p.TcpFlags, reply, created: false, now, timeouts);
            if ((ct[e].Flags & CtFlags.Nat) == 0) return;
        }
    }

    /// <summary>
    /// The tuple of the packet an ICMP error quotes (its IP header and first 8 bytes of L4, RFC 792/4443), as
    /// that packet's sender saw it. False when the quote is truncated or not TCP/UDP/SCTP/ICMP echo.
    /// </summary>
    public static unsafe bool TryInnerKey(in PacketMeta p, out CtKey key)
    {
        key = default;
        int off = p.PayloadOffset, end = p.Length;
        byte* d = p.Data;
        byte proto;
        UInt128 src, dst;
        if (p.IpVersion == 4)
        {
            if (end - off < HeaderSizes.Ipv4 || (d[off] >> 4) != 4) return false;
            int ihl = (d[off] & 0x0F) * 4;
            if (ihl < HeaderSizes.Ipv4 || end - off < ihl + 8) return false;
            proto = d[off + 9];
            src = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(d + off + 12, 4));
            dst = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(d + off + 16, 4));
            off += ihl;
        }
        else
        {
            if (end - off < HeaderSizes.Ipv6 + 8 || (d[off] >> 4) != 6) return false;
            proto = d[off + 6];
            src = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(d + off + 8, 16));
            dst = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(d + off + 24, 16));
            off += HeaderSizes.Ipv6;
        }
        ushort sport = (ushort)((d[off] << 8) | d[off + 1]), dport = (ushort)((d[off + 2] << 8) | d[off + 3]);
        switch (proto)
        {
            case IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp: break;
            case IpProtocols.Icmp or IpProtocols.Icmpv6 when IsEcho(proto, d[off]):
                sport = dport = (ushort)((d[off + 4] << 8) | d[off + 5]);
                break;
            default: return false;
        }
        key = new CtKey(src, dst, sport, dport, proto, p.IpVersion);
        return true;
    }

    /// <summary>
    /// The connection tuple of a packet. ICMP echo request and reply carry the identifier in both port
    /// fields (type is left out), as Cilium keys them, so the reply finds the request's entry.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CtKey KeyOf(in PacketMeta p)
    {
        ushort sport = p.SrcPort, dport = p.DstPort;
        if (IsEcho(p.L4Proto, p.IcmpType)) dport = sport;
        return new CtKey(Addr.Src(p), Addr.Dst(p), sport, dport, p.L4Proto, p.IpVersion);
    }

    /// <summary>ICMP/ICMPv6 echo request or reply: the messages whose identifier keys a connection.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsEcho(byte proto, byte icmpType) =>
        proto == IpProtocols.Icmp ? icmpType is 0 or 8 : proto == IpProtocols.Icmpv6 && icmpType is 128 or 129;
}
