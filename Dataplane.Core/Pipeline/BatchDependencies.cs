using System.Runtime.CompilerServices;
using Dataplane.Core.Conntrack;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Which earlier packets of a batch a packet may depend on through conntrack. A packet that misses the table
/// (New) will create an entry only at <see cref="ConntrackCommitStage"/>, after every lookup of the batch ran;
/// a later packet of the same connection — a duplicate, its reply (NATed or not), an ICMP error about it — must
/// see that entry, as it would have had it arrived alone. This set records the endpoints (address, port,
/// protocol) of the New packets so far, as source and as destination; a later New packet whose source and
/// destination both match (same connection), whose destination is an earlier source (the reply to it, also
/// after DNAT), or whose source is an earlier destination (also after SNAT) depends on it, and the batch is split
/// there (<see cref="PacketPipeline"/>). Over-approximation only costs a split; 64-bit hashes, so a false match
/// is as rare as a hash collision. Replies of a connection both DNATed and SNATed (a service reached from outside
/// with a remote backend) share no endpoint with the request and are not detected.
/// Lives on the stack of the conntrack stage: <see cref="Slots"/> hashes, cleared on the batch's first New packet.
/// </summary>
internal unsafe ref struct BatchDependencies
{
    /// <summary>Two endpoints per packet of a full batch, at half load.</summary>
    public const int Slots = 4 * Packets.Batch.MaxSize;
    private const ulong AsSource = 0x9E3779B97F4A7C15, AsDestination = 0xC2B2AE3D27D4EB4F;

    private readonly ulong* _slots;
    private bool _used;

    public BatchDependencies(ulong* slots) { _slots = slots; _used = false; }

    /// <summary>Records a New packet's endpoints.</summary>
    public void Add(in CtKey key)
    {
        if (!_used)
        {
            new Span<ulong>(_slots, Slots).Clear();
            _used = true;
        }
        Insert(Tag(Endpoint(key.Src, key.SrcPort, key), AsSource));
        Insert(Tag(Endpoint(key.Dst, key.DstPort, key), AsDestination));
    }

    /// <summary>Whether a packet with this tuple may belong to a connection an earlier New packet opens.</summary>
    public readonly bool DependsOnEarlier(in CtKey key)
    {
        if (!_used) return false;
        ulong src = Endpoint(key.Src, key.SrcPort, key), dst = Endpoint(key.Dst, key.DstPort, key);
        return Contains(Tag(dst, AsSource)) || Contains(Tag(src, AsDestination))             // a reply (or an ICMP error about one)
            || (Contains(Tag(src, AsSource)) && Contains(Tag(dst, AsDestination)));        // the same connection again
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Endpoint(UInt128 addr, ushort port, in CtKey key)
    {
        ulong h = (ulong)addr * 0xbf58476d1ce4e5b9 ^ (ulong)(addr >> 64) * 0x94d049bb133111eb
                  ^ ((ulong)port << 16 | (ulong)key.Proto << 8 | key.Family) * 0xff51afd7ed558ccd;
        return h ^ (h >> 31);
    }

    /// <summary>An endpoint as source or as destination; never 0, the empty slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Tag(ulong endpoint, ulong role) => (endpoint ^ role) | 1;

    private readonly void Insert(ulong h)
    {
        for (uint i = (uint)h % Slots; ; i = (i + 1) % Slots)
        {
            if (_slots[i] == h) return;
            if (_slots[i] == 0) { _slots[i] = h; return; }
        }
    }

    private readonly bool Contains(ulong h)
    {
        for (uint i = (uint)h % Slots; ; i = (i + 1) % Slots)
        {
            if (_slots[i] == h) return true;
            if (_slots[i] == 0) return false;
        }
    }
}
