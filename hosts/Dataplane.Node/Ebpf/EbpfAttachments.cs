using Dataplane.Core.Snapshot;
using Dataplane.Ebpf.Loader;
using Dataplane.Linux;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Node.Ebpf;

/// <summary>
/// Where the XDP program is attached: one record per interface name with the ifindex it was attached at and the
/// mode the kernel accepted. An interface that vanished took its attachment with it; one that came back (new
/// ifindex) is attached again. Auto mode is native with generic fallback, except on veths (see
/// <see cref="DriverName"/>), which get generic mode directly.
/// </summary>
internal sealed class EbpfAttachments(XdpAttachMode requested, TextWriter log)
{
    /// <summary>Mode Auto with an <paramref name="Error"/>: the kernel refused the attachment (not retried until the interface changes).</summary>
    public sealed record Attachment(int IfIndex, XdpAttachMode Mode, string? Error = null);

    private readonly Dictionary<string, Attachment> _attached = [];

    public IReadOnlyDictionary<string, Attachment> Current => _attached;

    /// <summary>The ifindex a port has now (0: absent): what the maps must say and where the program must be.</summary>
    public static int IfIndexOf(PortInfo p) => NetDevice.IndexOf(p.Name);

    /// <summary>True when some port's interface appeared, vanished or was recreated since the last <see cref="Sync"/>.</summary>
    public bool Changed(DatapathSnapshot s)
    {
        foreach (var p in s.Ports)
        {
            int now = IfIndexOf(p);
            int was = _attached.TryGetValue(p.Name, out var a) ? a.IfIndex : 0;
            if (now != was) return true;
        }
        return false;
    }

    /// <summary>Attaches to every present port not attached at its current ifindex; forgets ports gone from <paramref name="s"/> or the system.</summary>
    public void Sync(EbpfDatapath dp, DatapathSnapshot s)
    {
        var wanted = new HashSet<string>();
        foreach (var p in s.Ports)
        {
            int ifindex = IfIndexOf(p);
            if (ifindex == 0) { _attached.Remove(p.Name); continue; }
            wanted.Add(p.Name);
            if (_attached.TryGetValue(p.Name, out var a) && a.IfIndex == ifindex) continue;
            var mode = requested == XdpAttachMode.Auto && DriverName.Of(p.Name) == "veth" ? XdpAttachMode.Generic : requested;
            try
            {
                var used = dp.Attach(ifindex, mode);
                _attached[p.Name] = new Attachment(ifindex, used);
                log.WriteLine($"ebpf: XDP attached to {p.Name} (ifindex {ifindex}), {Describe(used)} mode{(mode != requested ? " (veth: generic, see --xdp-mode)" : "")}");
            }
            catch (EbpfMapException e)
            {
                // One interface refusing (e.g. native mode without driver support) must not stop the others.
                _attached[p.Name] = new Attachment(ifindex, XdpAttachMode.Auto, e.Message);
                log.WriteLine($"ebpf: {p.Name}: {e.Message}");
            }
        }
        // A port the config no longer names: its interface keeps no program of ours.
        foreach (var name in _attached.Keys.Where(n => !wanted.Contains(n)).ToList())
        {
            var a = _attached[name];
            if (a.Error is null && NetDevice.IndexOf(name) == a.IfIndex) EbpfDatapath.Detach(a.IfIndex, a.Mode);
            _attached.Remove(name);
            log.WriteLine($"ebpf: XDP detached from {name}");
        }
    }

    /// <summary>Removes the program from every interface it is still attached to (--bpf-detach-on-exit).</summary>
    public void DetachAll()
    {
        foreach (var (name, a) in _attached)
            if (a.Error is null && NetDevice.IndexOf(name) == a.IfIndex) EbpfDatapath.Detach(a.IfIndex, a.Mode);
        _attached.Clear();
    }

    public static string Describe(XdpAttachMode m) => m == XdpAttachMode.Native ? "native" : "generic";
}
