using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// Conntrack expiry for the BPF map, as ConntrackTable.Collect does for the C# table: the datapath never looks
/// at an entry's expiry time, the agent deletes entries whose time has come (Cilium's CT GC runs in the agent
/// too). Entries hold Unix seconds (the program's clock is bpf_ktime_get_ns shifted by the config's offset).
/// </summary>
public static class ConntrackGc
{
    /// <summary>Deletes every entry that expires at or before <paramref name="now"/>; returns how many.</summary>
    public static int Collect(EbpfDatapath dp, uint now)
    {
        int removed = 0;
        foreach (var key in dp.Conntrack.Keys<CtKeyBpf>())
        {
            if (dp.Conntrack.TryLookup(key, out CtValueBpf v) && v.Expires != 0 && v.Expires <= now && dp.Conntrack.Delete(key))
                removed++;
        }
        // A DNATed connection's reply index entry goes with it.
        foreach (var reply in dp.ConntrackRev.Keys<CtKeyBpf>())
        {
            if (dp.ConntrackRev.TryLookup(reply, out CtKeyBpf orig) && !dp.Conntrack.TryLookup(orig, out CtValueBpf _))
                dp.ConntrackRev.Delete(reply);
        }
        return removed;
    }

    /// <summary>Connections currently in the map.</summary>
    public static int Count(EbpfDatapath dp) => dp.Conntrack.Keys<CtKeyBpf>().Count;
}
