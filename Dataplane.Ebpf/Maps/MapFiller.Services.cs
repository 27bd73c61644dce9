using Dataplane.Core.Snapshot;

namespace Dataplane.Ebpf.Maps;

// Services: frontends, their Maglev rings and backend sets, the random selection's seed.
public static unsafe partial class MapFiller
{
    /// <summary>LbWorkerState's initial xorshift64* state: BPF random selection starts where a C# worker does.</summary>
    public const ulong RandomSeed = 0x9E3779B97F4A7C15;

    /// <summary>
    /// Frontends and their backend sets, each set laid out once: its Maglev ring at consecutive dp_lb_ring slots
    /// (a slot holds the backend itself, so the program needs one lookup), its backends at consecutive
    /// dp_lb_backends slots (random selection) and by (set, address, port) in dp_lb_member (affinity checks). A
    /// Local traffic policy is already the frontend's narrowed set.
    /// </summary>
    private static (Dictionary<LbFeKey, LbFe>, Dictionary<uint, LbSlot>, Dictionary<uint, LbSlot>, Dictionary<LbMemberKey, uint>)
        ServiceContent(Core.Services.ServiceState st)
    {
        var frontends = new Dictionary<LbFeKey, LbFe>(BytewiseComparer<LbFeKey>.Instance);
        var ring = new Dictionary<uint, LbSlot>();
        var backends = new Dictionary<uint, LbSlot>();
        var members = new Dictionary<LbMemberKey, uint>(BytewiseComparer<LbMemberKey>.Instance);
        var bases = new Dictionary<int, (uint Ring, uint Backends)>();
        foreach (var f in st.Frontends.All())
        {
            var set = st.Sets[f.Set];
            if (!bases.TryGetValue(f.Set, out var start))
            {
                start = ((uint)ring.Count, (uint)backends.Count);
                bases[f.Set] = start;
                for (int i = 0; i < set.Ring.Length; i++)
                {
                    ref readonly var b = ref set.Backends[set.Ring[i]];
                    var slot = new LbSlot { Port = b.Port };
                    WriteAddr(slot.Addr, b.Addr, f.Family);
                    ring[start.Ring + (uint)i] = slot;
                }
                for (int i = 0; i < set.Backends.Length; i++)
                {
                    ref readonly var b = ref set.Backends[i];
                    var slot = new LbSlot { Port = b.Port };
                    WriteAddr(slot.Addr, b.Addr, f.Family);
                    backends[start.Backends + (uint)i] = slot;
                    var member = new LbMemberKey { Base = start.Backends, Port = b.Port };
                    WriteAddr(member.Addr, b.Addr, f.Family);
                    members[member] = (uint)i;
                }
            }
            var key = new LbFeKey { Port = f.Port, Proto = f.Proto, Family = f.Family };
            WriteAddr(key.Addr, f.Addr, f.Family);
            var info = st.Services[f.Service];
            frontends[key] = new LbFe
            {
                RingBase = start.Ring, RingLen = (uint)set.Ring.Length,
                BackendBase = start.Backends, BackendCount = (uint)set.Backends.Length,
                ServiceId = info.Id, AffinityTimeout = info.AffinityTimeout,
            };
        }
        return (frontends, ring, backends, members);
    }
}
