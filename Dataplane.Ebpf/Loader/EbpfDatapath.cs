using System.Runtime.InteropServices;
using System.Text;
using Dataplane.Ebpf.Interop;
using Dataplane.Linux.Interop;
using Dataplane.Ebpf.Maps;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// The compiled datapath (bpf/dataplane.bpf.c, embedded at build time) loaded into the kernel: its XDP
/// program and maps, and with <see cref="EbpfOptions.TcProgram"/> the same pipeline as a TC program (the
/// -DDP_TC build of the same source) using the very same maps. Verifier rejections become <see cref="EbpfLoadException"/> with the verifier log. With a
/// <see cref="EbpfOptions.PinDirectory"/> the maps are pinned there and reused by the next load. Attachments
/// are made through netlink, not a BPF link, so the program keeps forwarding when the agent exits; a restarted
/// agent loads again (same pinned maps) and replaces the program in place.
/// </summary>
public sealed unsafe partial class EbpfDatapath : IDisposable
{
    public const string ResourceName = "dataplane.bpf.o";
    public const string ProgramName = "dp_xdp";
    public const string PassProgramName = "dp_xdp_pass";
    public const string TcResourceName = "dataplane.tc.bpf.o";
    public const string TcProgramName = "dp_tc";
    public const string HostEgressResourceName = "dataplane.egress.bpf.o";
    public const string HostEgressProgramName = "dp_host_egress";
    private const int LogSize = 16 << 20;

    private void* _obj;
    private void* _tcObj;
    private void* _egressObj;

    private EbpfDatapath(void* obj, void* tcObj, void* egressObj, EbpfOptions options)
    {
        _obj = obj;
        _tcObj = tcObj;
        _egressObj = egressObj;
        Options = options;
        TcProgramFd = tcObj == null ? -1 : LibBpf.bpf_program__fd(LibBpf.bpf_object__find_program_by_name(tcObj, TcProgramName));
        HostEgressProgramFd = egressObj == null ? -1 : LibBpf.bpf_program__fd(LibBpf.bpf_object__find_program_by_name(egressObj, HostEgressProgramName));
        ProgramFd = LibBpf.bpf_program__fd(LibBpf.bpf_object__find_program_by_name(obj, ProgramName));
        PassProgramFd = LibBpf.bpf_program__fd(LibBpf.bpf_object__find_program_by_name(obj, PassProgramName));
        Config = MapOf("dp_config", false);
        Ports = MapOf("dp_ports", false);
        IfIndex = MapOf("dp_ifindex", false);
        TxPorts = MapOf("dp_tx_ports", false);
        TxIfIndex = MapOf("dp_tx_ifindex", false);
        Endpoints = MapOf("dp_endpoints", false);
        Routes4 = MapOf("dp_routes4", false);
        Routes6 = MapOf("dp_routes6", false);
        NextHops = MapOf("dp_nexthops", false);
        IpCache4 = MapOf("dp_ipcache4", false);
        IpCache6 = MapOf("dp_ipcache6", false);
        Policy = MapOf("dp_policy", false);
        Conntrack = MapOf("dp_ct", false);
        Stats = MapOf("dp_stats", true);
        Drops = MapOf("dp_drops", true);
        Last = MapOf("dp_last", true);
        Events = MapOf("dp_events", false);
        Overlay = MapOf("dp_overlay", false);
        Vni = MapOf("dp_vni", false);
        LbFrontends = MapOf("dp_lb_fe", false);
        LbRing = MapOf("dp_lb_ring", false);
        ConntrackRev = MapOf("dp_ct_rev", false);
        Tunnels = MapOf("dp_tunnels", false);
        Srv6 = MapOf("dp_srv6", false);
        Srv6Sids = MapOf("dp_srv6_sid", false);
        Srv6Locators = MapOf("dp_srv6_locator", false);
        MasqExempt4 = MapOf("dp_masq_exempt4", false);
        MasqExempt6 = MapOf("dp_masq_exempt6", false);
        MasqAddr = MapOf("dp_masq_addr", false);
        LbBackends = MapOf("dp_lb_backends", false);
        LbMember = MapOf("dp_lb_member", false);
        LbAffinity = MapOf("dp_lb_affinity", false);
        LbRng = MapOf("dp_lb_rng", false);
        EgwSources = MapOf("dp_egw_src", false);
        EgwDestinations = MapOf("dp_egw_dst", false);
        EgwExcluded = MapOf("dp_egw_excl", false);
        EgwCount = MapOf("dp_egw_count", false);
        EgwGateways = MapOf("dp_egw_gw", false);
    }

    /// <summary>Egress gateway: selected sources, each policy's destinations / exclusions, gateway counts and gateways.</summary>
    public BpfMap EgwSources { get; }
    public BpfMap EgwDestinations { get; }
    public BpfMap EgwExcluded { get; }
    public BpfMap EgwCount { get; }
    public BpfMap EgwGateways { get; }

    /// <summary>Backend sets by index and by (set, address, port); sessionAffinity bindings; the random state.</summary>
    public BpfMap LbBackends { get; }
    public BpfMap LbMember { get; }
    public BpfMap LbAffinity { get; }
    public BpfMap LbRng { get; }

    /// <summary>Masquerade: destinations exempt from it (LPM tries) and each port's masquerade address.</summary>
    public BpfMap MasqExempt4 { get; }
    public BpfMap MasqExempt6 { get; }
    public BpfMap MasqAddr { get; }

    /// <summary>dp_tunnels: Tunnel next hop index → its VXLAN peer (outer headers, MTU, ICMP error sources).</summary>
    public BpfMap Tunnels { get; }

    /// <summary>dp_srv6: Tunnel next hop index → its SRv6 peer's H.Encaps templates.</summary>
    public BpfMap Srv6 { get; }

    /// <summary>dp_srv6_sid / dp_srv6_locator: this node's SRv6 SIDs (behaviour, End.X adjacency) and locators.</summary>
    public BpfMap Srv6Sids { get; }
    public BpfMap Srv6Locators { get; }

    /// <summary>Service frontends → their Maglev ring; the rings' slots; DNATed connections' reply index.</summary>
    public BpfMap LbFrontends { get; }
    public BpfMap LbRing { get; }
    public BpfMap ConntrackRev { get; }

    public EbpfOptions Options { get; }
    public int ProgramFd { get; }
    /// <summary>dp_tc, the TC entry point (tcx ingress); -1 unless loaded with <see cref="EbpfOptions.TcProgram"/>.</summary>
    public int TcProgramFd { get; }
    /// <summary>
    /// dp_host_egress, the host firewall's egress hook (tcx egress of the node's interfaces); -1 unless loaded with
    /// <see cref="EbpfOptions.HostEgressProgram"/>.
    /// </summary>
    public int HostEgressProgramFd { get; }
    /// <summary>dp_xdp_pass: attach it to the far end of a veth the datapath redirects to (veth needs it to deliver).</summary>
    public int PassProgramFd { get; }
    public BpfMap Config { get; }
    public BpfMap Ports { get; }
    public BpfMap IfIndex { get; }
    public BpfMap TxPorts { get; }
    /// <summary>dp_tx_ifindex: port number → ifindex for the TC program's bpf_redirect (dp_tx_ports' content).</summary>
    public BpfMap TxIfIndex { get; }
    public BpfMap Endpoints { get; }
    public BpfMap Routes4 { get; }
    public BpfMap Routes6 { get; }
    public BpfMap NextHops { get; }
    public BpfMap IpCache4 { get; }
    public BpfMap IpCache6 { get; }
    public BpfMap Policy { get; }
    public BpfMap Conntrack { get; }
    public BpfMap Stats { get; }
    public BpfMap Drops { get; }
    public BpfMap Last { get; }
    public BpfMap Events { get; }
    /// <summary>dp_overlay: this node's underlay addresses and the tunnel peers (value: fixed VNI).</summary>
    public BpfMap Overlay { get; }
    /// <summary>dp_vni: bitmap of the VNIs that name a known identity.</summary>
    public BpfMap Vni { get; }

    private BpfMap MapOf(string name, bool perCpu)
    {
        void* m = LibBpf.bpf_object__find_map_by_name(_obj, name);
        if (m == null) throw new EbpfLoadException($"the datapath object has no map {name}", "");
        return new BpfMap(name, LibBpf.bpf_map__fd(m), Bpf.bpf_map__max_entries(m), perCpu);
    }

    /// <summary>Loads the embedded program; throws <see cref="EbpfLoadException"/> with the verifier log when refused.</summary>
    public static EbpfDatapath Load(EbpfOptions options) =>
        Load(Resource(ResourceName), options, options.TcProgram ? Resource(TcResourceName) : null,
            options.HostEgressProgram ? Resource(HostEgressResourceName) : null);

    private static byte[] Resource(string name)
    {
        using var stream = typeof(EbpfDatapath).Assembly.GetManifestResourceStream(name)
            ?? throw new PlatformNotSupportedException($"the eBPF datapath ({name}) was not built (clang was missing at build time)");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>
    /// Loads a compiled datapath object (the embedded one, or another build of bpf/dataplane.bpf.c), and the TC
    /// build of it when <paramref name="tcObjectFile"/> is given: its maps are not created but taken over from
    /// the XDP object (bpf_map__reuse_fd), so one filler run configures both programs and they share conntrack.
    /// The host firewall's egress object (<paramref name="egressObjectFile"/>) takes the XDP object's maps the same way.
    /// </summary>
    public static EbpfDatapath Load(byte[] objectFile, EbpfOptions options, byte[]? tcObjectFile = null, byte[]? egressObjectFile = null)
    {
        void* obj = OpenAndLoad(objectFile, options, null, "XDP");
        void* tcObj = null, egressObj = null;
        try
        {
            if (tcObjectFile != null) tcObj = OpenAndLoad(tcObjectFile, options, obj, "TC");
            if (egressObjectFile != null) egressObj = OpenAndLoad(egressObjectFile, options, obj, "host egress");
            var dp = new EbpfDatapath(obj, tcObj, egressObj, options);
            obj = null;
            tcObj = null;
            egressObj = null;
            return dp;
        }
        finally
        {
            if (egressObj != null) LibBpf.bpf_object__close(egressObj);
            if (tcObj != null) LibBpf.bpf_object__close(tcObj);
            if (obj != null) LibBpf.bpf_object__close(obj);
        }
    }

    /// <summary>Opens and loads one object; with <paramref name="mapsOf"/>, every map of it is that object's map.</summary>
    private static void* OpenAndLoad(byte[] objectFile, EbpfOptions options, void* mapsOf, string what)
    {
        byte* log = (byte*)NativeMemory.AllocZeroed(LogSize);
        // The TC object pins nothing: its maps are the XDP object's, pinned (or not) by that load.
        byte* pinRoot = options.PinDirectory == null || mapsOf != null ? null : Utf8(options.PinDirectory);
        void* obj = null;
        try
        {
            int rc = 0;
            string problem = "";
            string libbpfLog = LibbpfLog.Capture(() =>
            {
                fixed (byte* data = objectFile)
                {
                    bpf_object_open_opts opts = default;
                    opts.sz = (nuint)sizeof(bpf_object_open_opts);
                    opts.pin_root_path = pinRoot;
                    opts.kernel_log_buf = log;
                    opts.kernel_log_size = LogSize;
                    obj = LibBpf.bpf_object__open_mem(data, (nuint)objectFile.Length, &opts);
                }
                if (obj == null) { rc = -Marshal.GetLastPInvokeError(); return; }
                // Every map of the object, not a list of names: a map the list missed would be pinned under libbpf's
                // default /sys/fs/bpf and shared by every unpinned load on the machine.
                if (pinRoot == null)
                    for (void* m = Bpf.bpf_object__next_map(obj, null); m != null; m = Bpf.bpf_object__next_map(obj, m))
                        bpf_map__set_pin_path(m, null);
                if (mapsOf != null)
                {
                    // Named maps only: internal ones (.rodata and the like) are per object and named after it.
                    for (void* m = Bpf.bpf_object__next_map(obj, null); m != null && rc == 0; m = Bpf.bpf_object__next_map(obj, m))
                    {
                        if (Bpf.bpf_map__is_internal(m)) continue;
                        string name = Marshal.PtrToStringUTF8((nint)Bpf.bpf_map__name(m)) ?? "";
                        void* same = LibBpf.bpf_object__find_map_by_name(mapsOf, name);
                        if (same == null) { problem = $"map {name} is not in the XDP object"; rc = -22; return; }
                        rc = Bpf.bpf_map__reuse_fd(m, LibBpf.bpf_map__fd(same));
                        if (rc != 0) problem = $"taking over map {name}";
                    }
                }
                else
                {
                    void* ct = LibBpf.bpf_object__find_map_by_name(obj, "dp_ct");
                    if (ct != null) rc = Bpf.bpf_map__set_max_entries(ct, options.ConntrackMaxEntries);
                }
                if (rc == 0) rc = LibBpf.bpf_object__load(obj);
            });
            string verifier = Marshal.PtrToStringUTF8((nint)log) ?? "";
            if (obj == null)
                throw new EbpfLoadException($"bpf_object__open_mem of the {what} object failed (errno {-rc})", libbpfLog);
            if (rc != 0)
            {
                string where = options.PinDirectory == null || mapsOf != null ? "" :
                    $" (maps pinned under {options.PinDirectory}: is bpffs mounted at /sys/fs/bpf, and do pinned maps of an older build differ?)";
                string step = problem.Length > 0 ? $" ({problem})" : "";
                throw new EbpfLoadException($"loading the eBPF datapath{(mapsOf == null ? "" : $" ({what} program)")} failed{step}: {Marshal.GetPInvokeErrorMessage(-rc)} (errno {-rc}){where}",
                    (verifier + "\n" + libbpfLog).Trim());
            }
            void* loaded = obj;
            obj = null;
            return loaded;
        }
        finally
        {
            if (obj != null) LibBpf.bpf_object__close(obj);
            NativeMemory.Free(log);
            if (pinRoot != null) NativeMemory.Free(pinRoot);
        }
    }

    [LibraryImport("libbpf.so.1")]
    private static partial int bpf_map__set_pin_path(void* map, byte* path);

    private static byte* Utf8(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.AllocZeroed((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        return p;
    }

    /// <summary>
    /// Attaches the datapath to an interface: native (driver) mode when supported, else generic; replaces a
    /// program already attached in that mode (an agent restart). Returns the mode used.
    /// </summary>
    public XdpAttachMode Attach(int ifindex, XdpAttachMode mode = XdpAttachMode.Auto) => Attach(ProgramFd, ifindex, mode);

    /// <summary>Attaches dp_xdp_pass to the far end of a veth (see <see cref="PassProgramFd"/>).</summary>
    public XdpAttachMode AttachPass(int ifindex, XdpAttachMode mode = XdpAttachMode.Auto) => Attach(PassProgramFd, ifindex, mode);

    private static XdpAttachMode Attach(int progFd, int ifindex, XdpAttachMode mode)
    {
        int err = 0;
        if (mode != XdpAttachMode.Generic)
        {
            err = Bpf.bpf_xdp_attach(ifindex, progFd, Bpf.XDP_FLAGS_DRV_MODE, null);
            if (err == 0) return XdpAttachMode.Native;
        }
        if (mode != XdpAttachMode.Native)
        {
            err = Bpf.bpf_xdp_attach(ifindex, progFd, Bpf.XDP_FLAGS_SKB_MODE, null);
            if (err == 0) return XdpAttachMode.Generic;
        }
        throw new EbpfMapException($"attaching XDP to ifindex {ifindex} ({mode}) failed: {Marshal.GetPInvokeErrorMessage(-err)} (errno {-err})");
    }

    /// <summary>Removes whatever XDP program is attached to the interface in <paramref name="mode"/>.</summary>
    public static void Detach(int ifindex, XdpAttachMode mode)
    {
        uint flags = mode == XdpAttachMode.Native ? Bpf.XDP_FLAGS_DRV_MODE : Bpf.XDP_FLAGS_SKB_MODE;
        Bpf.bpf_xdp_detach(ifindex, flags, null);
    }

    /// <summary>
    /// Attaches dp_tc to the interface's ingress as a tcx link (BPF_TCX_INGRESS, kernel 6.6+), after any program
    /// already there. A link lives as long as its last fd or its bpffs pin: without <paramref name="pinPath"/> the
    /// kernel detaches the program when the returned handle is closed; with it the link is pinned there, and a
    /// link an earlier load pinned at that path is taken over — its program replaced by this load's in place
    /// (bpf_link_update), so forwarding never pauses across an agent restart, as with XDP's netlink attachment.
    /// Put the ifindex in the path: a pinned link of a deleted interface is defunct and is replaced.
    /// </summary>
    public TcxLink AttachTcIngress(int ifindex, string? pinPath = null)
    {
        if (TcProgramFd < 0)
            throw new InvalidOperationException("the TC program was not loaded: load with EbpfOptions.TcProgram = true");
        return AttachTcx(TcProgramFd, Bpf.BPF_TCX_INGRESS, "the TC program", "tcx ingress", ifindex, pinPath);
    }

    /// <summary>
    /// Attaches dp_host_egress, the host firewall's egress hook, to the interface's egress as a tcx link
    /// (BPF_TCX_EGRESS), pinned and taken over like <see cref="AttachTcIngress"/>'s links.
    /// </summary>
    public TcxLink AttachHostEgress(int ifindex, string? pinPath = null)
    {
        if (HostEgressProgramFd < 0)
            throw new InvalidOperationException("the host egress program was not loaded: load with EbpfOptions.HostEgressProgram = true");
        return AttachTcx(HostEgressProgramFd, Bpf.BPF_TCX_EGRESS, "the host firewall's egress program", "tcx egress", ifindex, pinPath);
    }

    private static TcxLink AttachTcx(int progFd, int attachType, string what, string where, int ifindex, string? pinPath)
    {
        if (pinPath is not null && File.Exists(pinPath))
        {
            int old = Bpf.bpf_obj_get(pinPath);
            if (old >= 0)
            {
                if (Bpf.bpf_link_update(old, progFd, null) == 0) return new TcxLink(old, ifindex, pinPath, reused: true);
                TcxLink.Close(old);
            }
            File.Delete(pinPath); // not a live link of ours any more: replaced below
        }
        int fd = Bpf.bpf_link_create(progFd, ifindex, attachType, null);
        if (fd < 0)
        {
            int err = Bpf.Err(fd);
            string why = err switch
            {
                22 => " (EINVAL: is the kernel older than 6.6, without tcx?)",
                19 => " (ENODEV: no such interface)",
                1 or 13 => " (needs CAP_NET_ADMIN and CAP_BPF)",
                _ => "",
            };
            throw new EbpfMapException($"attaching {what} to ifindex {ifindex} ({where}) failed: {Marshal.GetPInvokeErrorMessage(err)} (errno {err}){why}");
        }
        if (pinPath is not null && Bpf.bpf_obj_pin(fd, pinPath) != 0)
        {
            int err = Marshal.GetLastPInvokeError();
            TcxLink.Close(fd);
            throw new EbpfMapException($"pinning the {where} link of ifindex {ifindex} at {pinPath} failed: {Marshal.GetPInvokeErrorMessage(err)} (errno {err}; is it on a bpffs?)");
        }
        return new TcxLink(fd, ifindex, pinPath);
    }

    /// <summary>Closes the objects (program and map fds). Attached XDP programs and pinned maps stay.</summary>
    public void Dispose()
    {
        if (_egressObj != null) { LibBpf.bpf_object__close(_egressObj); _egressObj = null; }
        if (_tcObj != null) { LibBpf.bpf_object__close(_tcObj); _tcObj = null; }
        if (_obj != null) { LibBpf.bpf_object__close(_obj); _obj = null; }
    }
}
