using Dataplane.Core.Snapshot;
using Dataplane.Ebpf.Loader;
using Dataplane.Linux;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Host.Backends.Ebpf;

/// <summary>
/// Where the program is attached: one record per interface name with the ifindex it was attached at and the
/// mode the kernel accepted. An interface that vanished took its attachment with it; one that came back (new
/// ifindex) is attached again. XDP (the default hook): Auto mode is native with generic fallback, except on veths
/// (see <see cref="DriverName"/>), which get generic mode directly. TC (--ebpf-hook tc): a tcx ingress link per
/// interface, pinned in the agent's pin directory (when it has one) as <c>tcx_IFNAME_IFINDEX</c>, so that — like
/// the XDP attachment — it outlives the agent and the next agent takes it over; without a pin directory the
/// link ends with the agent. With the host egress program loaded, every interface also gets the host firewall's
/// egress hook as a tcx egress link (whatever the hook), pinned as <c>tcxe_IFNAME_IFINDEX</c> in the same way.
/// </summary>
internal sealed class EbpfAttachments(XdpAttachMode requested, BpfHook hook, TextWriter log, string? pinDir = null)
{
    /// <summary>
    /// Mode Auto with an <paramref name="Error"/>: the kernel refused the attachment (not retried until the interface
    /// changes). <paramref name="Link"/>: the tcx link of a TC attachment (Mode is then meaningless).
    /// <paramref name="Egress"/>: the host firewall's egress hook on the interface, or why the kernel refused it
    /// (<paramref name="EgressError"/>).
    /// </summary>
    public sealed record Attachment(int IfIndex, XdpAttachMode Mode, string? Error = null, TcxLink? Link = null,
        TcxLink? Egress = null, string? EgressError = null);

    public BpfHook Hook => hook;

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
            if (ifindex == 0) { Forget(p.Name); continue; }
            wanted.Add(p.Name);
            if (_attached.TryGetValue(p.Name, out var a) && a.IfIndex == ifindex) continue;
            // A recreated interface: the old link's device is gone (the kernel detached it); release its fd.
            Forget(p.Name);
            Attach(dp, p.Name, ifindex);
            if (dp.HostEgressProgramFd >= 0) AttachHostEgress(dp, p.Name, ifindex);
        }
        // A port the config no longer names: its interface keeps no program of ours.
        foreach (var name in _attached.Keys.Where(n => !wanted.Contains(n)).ToList())
        {
            Detach(name, _attached[name]);
            _attached.Remove(name);
            log.WriteLine($"ebpf: {(hook == BpfHook.Tc ? "TC" : "XDP")} detached from {name}");
        }
    }

    /// <summary>The ingress program: a tcx ingress link (TC) or XDP, by the hook.</summary>
    private void Attach(EbpfDatapath dp, string name, int ifindex)
    {
        if (hook == BpfHook.Tc)
        {
            try
            {
                string? pin = pinDir is null ? null : Path.Combine(pinDir, $"tcx_{name}_{ifindex}");
                if (pinDir is not null) RemoveStalePins("tcx", name, pin!);
                var link = dp.AttachTcIngress(ifindex, pin);
                _attached[name] = new Attachment(ifindex, XdpAttachMode.Auto, Link: link);
                log.WriteLine($"ebpf: TC {(link.Reused ? "taken over (pinned link of the previous agent) on" : "attached to")} {name} (ifindex {ifindex}), tcx ingress{(pin is null ? "" : ", pinned")}");
            }
            catch (EbpfMapException e)
            {
                _attached[name] = new Attachment(ifindex, XdpAttachMode.Auto, e.Message);
                log.WriteLine($"ebpf: {name}: {e.Message}");
            }
            return;
        }
        var mode = requested == XdpAttachMode.Auto && DriverName.Of(name) == "veth" ? XdpAttachMode.Generic : requested;
        try
        {
            var used = dp.Attach(ifindex, mode);
            _attached[name] = new Attachment(ifindex, used);
            log.WriteLine($"ebpf: XDP attached to {name} (ifindex {ifindex}), {Describe(used)} mode{(mode != requested ? " (veth: generic, see --xdp-mode)" : "")}");
        }
        catch (EbpfMapException e)
        {
            // One interface refusing (e.g. native mode without driver support) must not stop the others.
            _attached[name] = new Attachment(ifindex, XdpAttachMode.Auto, e.Message);
            log.WriteLine($"ebpf: {name}: {e.Message}");
        }
    }

    /// <summary>
    /// The host firewall's egress hook (tcx egress): judges what the node's stack sends when host policies select
    /// this node, and costs one map lookup per packet when none does. A refusal is reported, never fatal.
    /// </summary>
    private void AttachHostEgress(EbpfDatapath dp, string name, int ifindex)
    {
        var a = _attached[name];
        try
        {
            string? pin = pinDir is null ? null : Path.Combine(pinDir, $"tcxe_{name}_{ifindex}");
            if (pinDir is not null) RemoveStalePins("tcxe", name, pin!);
            var link = dp.AttachHostEgress(ifindex, pin);
            _attached[name] = a with { Egress = link };
            log.WriteLine($"ebpf: host firewall egress hook {(link.Reused ? "taken over on" : "attached to")} {name} (ifindex {ifindex}), tcx egress{(pin is null ? "" : ", pinned")}");
        }
        catch (EbpfMapException e)
        {
            _attached[name] = a with { EgressError = e.Message };
            log.WriteLine($"ebpf: {name}: {e.Message}");
        }
    }

    private void Forget(string name)
    {
        if (_attached.Remove(name, out var a)) { a.Link?.Detach(); a.Egress?.Detach(); }
    }

    /// <summary>Pins of this interface at an older ifindex: links of a deleted device, defunct.</summary>
    private void RemoveStalePins(string kind, string name, string keep)
    {
        foreach (var f in Directory.EnumerateFiles(pinDir!, $"{kind}_{name}_*"))
            if (f != keep && int.TryParse(f.AsSpan(f.LastIndexOf('_') + 1), out _))
            {
                try { File.Delete(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
    }

    private static void Detach(string name, Attachment a)
    {
        a.Egress?.Detach();
        if (a.Link is not null) a.Link.Detach();
        else if (a.Error is null && NetDevice.IndexOf(name) == a.IfIndex) EbpfDatapath.Detach(a.IfIndex, a.Mode);
    }

    /// <summary>Closes the tcx links' fds (TC ingress, host egress): pinned ones stay attached, unpinned ones end. XDP attachments are not touched.</summary>
    public void CloseLinks()
    {
        foreach (var a in _attached.Values) { a.Link?.Dispose(); a.Egress?.Dispose(); }
    }

    /// <summary>Removes the program from every interface it is still attached to (--bpf-detach-on-exit).</summary>
    public void DetachAll()
    {
        foreach (var (name, a) in _attached) Detach(name, a);
        _attached.Clear();
    }

    public static string Describe(XdpAttachMode m) => m == XdpAttachMode.Native ? "native" : "generic";
}
