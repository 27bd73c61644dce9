using System.Runtime.InteropServices;
using Dataplane.Core.Drops;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;

namespace Dataplane.Host.Ipfix;

/// <summary>IPFIX flowEndReason (RFC 7012, IE 136).</summary>
public enum FlowEndReason : byte { IdleTimeout = 1, ActiveTimeout = 2, EndOfFlow = 3, ForcedEnd = 4, LackOfResources = 5 }

/// <summary>
/// What makes packets one IPFIX flow: the direction's 5-tuple (ICMP: the echo identifier as ports, and the type and
/// code), the family, and what became of the packets (RFC 7270 forwardingStatus: forwarded, dropped — policy denials
/// apart — or consumed by the node), so a connection's allowed and denied packets are separate records.
/// </summary>
public readonly record struct FlowKey(UInt128 Src, UInt128 Dst, ushort SrcPort, ushort DstPort, byte Proto, byte Family,
    ushort IcmpTypeCode, byte ForwardingStatus)
{
    /// <summary>RFC 7270 forwardingStatus: 0x40 forwarded, 0x80 dropped (unknown reason), 0x81 dropped by an ACL deny, 0xC3 consumed (for us).</summary>
    public const byte Forwarded = 0x40, Dropped = 0x80, DroppedAclDeny = 0x81, ConsumedForUs = 0xC3;

    public static FlowKey Of(in FlowEvent e) => new(e.Src, e.Dst, e.SrcPort, e.DstPort, e.L4Proto, e.IpVersion,
        (ushort)(e.IcmpType << 8 | e.IcmpCode),
        e.Verdict switch
        {
            PacketVerdict.Drop => e.DropReason == DropReason.PolicyDenied ? DroppedAclDeny : Dropped,
            PacketVerdict.Local => ConsumedForUs,
            _ => Forwarded,
        });
}

/// <summary>One exported flow record: the packets and IP octets of a flow since its last record.</summary>
public record struct FlowRecord(FlowKey Key, ulong Packets, ulong Octets, long StartMillis, long EndMillis, byte TcpFlags,
    uint SrcIdentity, uint DstIdentity, byte DropReason, FlowEndReason EndReason);

/// <summary>
/// The exporter's flow cache (RFC 5470's metering process): flow events from the workers' rings are counted into one
/// entry per <see cref="FlowKey"/>, and entries leave as records when they were idle for the idle timeout, after the
/// active timeout of a long flow (which then goes on counting from zero), when the cache is full, or at shutdown.
/// Single-threaded: the flow exporter's thread, off the datapath.
/// </summary>
public sealed class FlowCache(int activeTimeoutSeconds, int idleTimeoutSeconds, int maxFlows)
{
    private readonly Dictionary<FlowKey, Entry> _flows = [];
    private readonly List<FlowKey> _expired = [];
    private readonly long _activeMillis = activeTimeoutSeconds * 1000L, _idleMillis = idleTimeoutSeconds * 1000L;

    private struct Entry
    {
        public ulong Packets, Octets;
        public long Start, Last;
        public byte TcpFlags, DropReason;
        public uint SrcIdentity, DstIdentity;
    }

    public int Count => _flows.Count;

    /// <summary>
    /// Counts one packet event (L7 proxy events are not packets and are left out). Octets are the IP packet's
    /// (IPFIX counts from the IP header on): the frame less its Ethernet header. When the cache is full, every flow is
    /// handed to <paramref name="export"/> first (lack of resources) — never a silent loss.
    /// </summary>
    public void Add(in FlowEvent e, long nowMillis, Action<FlowRecord> export)
    {
        if (e.L7Record != 0 || e.IpVersion is not (4 or 6)) return;
        var key = FlowKey.Of(e);
        if (_flows.Count >= maxFlows && !_flows.ContainsKey(key)) Flush(FlowEndReason.LackOfResources, export);
        long at = e.TimeNanos > 0 ? e.TimeNanos / 1_000_000 : nowMillis;
        ref Entry f = ref CollectionsMarshal.GetValueRefOrAddDefault(_flows, key, out bool exists);
        if (!exists || f.Packets == 0)
        {
            // A new flow, or a long one's next record after an active timeout.
            f.Start = at;
            f.SrcIdentity = e.SrcIdentity;
            f.DstIdentity = e.DstIdentity;
            f.DropReason = (byte)e.DropReason;
        }
        f.Packets++;
        f.Octets += e.Length > EthernetHeader ? (ulong)(e.Length - EthernetHeader) : 0;
        f.Last = Math.Max(f.Last, at);
        f.TcpFlags |= e.TcpFlags;
    }

    private const int EthernetHeader = 14;

    /// <summary>
    /// Exports the flows idle for the idle timeout (their entry goes) and those whose record is older than the active
    /// timeout (their counts restart with the next packet). Never sends a record without packets.
    /// </summary>
    public void Expire(long nowMillis, Action<FlowRecord> export)
    {
        _expired.Clear();
        foreach (var (key, f) in _flows)
            if (nowMillis - f.Last >= _idleMillis || (f.Packets > 0 && nowMillis - f.Start >= _activeMillis)) _expired.Add(key);
        foreach (var key in _expired)
        {
            ref Entry f = ref CollectionsMarshal.GetValueRefOrNullRef(_flows, key);
            bool idle = nowMillis - f.Last >= _idleMillis;
            if (f.Packets > 0) export(Record(key, f, idle ? FlowEndReason.IdleTimeout : FlowEndReason.ActiveTimeout));
            if (idle) _flows.Remove(key);
            else { f.Packets = 0; f.Octets = 0; f.TcpFlags = 0; }
        }
    }

    /// <summary>Exports every flow with packets and empties the cache (shutdown: forced end; a full cache: lack of resources).</summary>
    public void Flush(FlowEndReason reason, Action<FlowRecord> export)
    {
        foreach (var (key, f) in _flows) if (f.Packets > 0) export(Record(key, f, reason));
        _flows.Clear();
    }

    private static FlowRecord Record(in FlowKey key, in Entry f, FlowEndReason reason) =>
        new(key, f.Packets, f.Octets, f.Start, Math.Max(f.Start, f.Last), f.TcpFlags, f.SrcIdentity, f.DstIdentity, f.DropReason, reason);
}
