using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The overlay against the Linux kernel's own VXLAN and SRv6, through `dataplane-node run` (AF_PACKET): a pod
/// namespace on our node, a "remote node" namespace where the kernel terminates the tunnel, and (SRv6) a target
/// namespace behind it. Neither side has any route to the other's pods except through the tunnel, so every ping
/// and TCP exchange below crossed it in both directions; the test names say who encapsulates first.
/// </summary>
public sealed class OverlayNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private static string Echo => Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");

    private static void RequireTools()
    {
        Requires.RootAnd("ip", "ping", "python3");
    }

    /// <summary>(a) Our VXLAN (IPv4 underlay) is received by a kernel vxlan device: ping and TCP from the pod.</summary>
    [SkippableFact]
    public void OurVxlanIsDecapsulatedByTheKernel()
    {
        RequireTools();
        using var topo = new OverlayTopology(OverlayTopology.Kind.Vxlan4);
        RunWith(topo, () =>
        {
            Ping(topo, topo.PodNs, OverlayTopology.RemoteTarget4);
            Ping(topo, topo.PodNs, OverlayTopology.RemoteTarget6);
            Tcp(topo, serverNs: topo.RemoteNs, clientNs: topo.PodNs, OverlayTopology.RemoteTarget4);
            TooBig(topo, OverlayTopology.RemoteTarget4, mtu: 1500 - 50);
        });
    }

    /// <summary>(b) The kernel's vxlan device (IPv6 underlay) sends to us; we decapsulate and deliver to the pod.</summary>
    [SkippableFact]
    public void KernelVxlanIsDecapsulatedByUs()
    {
        RequireTools();
        using var topo = new OverlayTopology(OverlayTopology.Kind.Vxlan6);
        RunWith(topo, () =>
        {
            Ping(topo, topo.RemoteNs, OverlayTopology.PodIp4);
            Ping(topo, topo.RemoteNs, OverlayTopology.PodIp6);
            Tcp(topo, serverNs: topo.PodNs, clientNs: topo.RemoteNs, OverlayTopology.PodIp4);
            Tcp(topo, serverNs: topo.PodNs, clientNs: topo.RemoteNs, OverlayTopology.PodIp6);
        });
    }

    /// <summary>(c) Our SRv6 H.Encaps is decapsulated by the kernel's seg6local End.DT4 (End.DX4 where the kernel
    /// has no VRF support) and End.DT6.</summary>
    [SkippableFact]
    public void OurSrv6IsDecapsulatedByKernelEndDt4AndEndDt6()
    {
        RequireTools();
        // The kernel side is seg6/seg6local routes: without CONFIG_IPV6_SEG6_LWTUNNEL there is no peer to test against.
        Requires.Kernel(KernelProbe.Seg6Lwtunnel);
        using var topo = new OverlayTopology(OverlayTopology.Kind.Srv6);
        RunWith(topo, () =>
        {
            Ping(topo, topo.PodNs, OverlayTopology.RemoteTarget4);
            Ping(topo, topo.PodNs, OverlayTopology.RemoteTarget6);
            Tcp(topo, serverNs: topo.TargetNs, clientNs: topo.PodNs, OverlayTopology.RemoteTarget4);
            Tcp(topo, serverNs: topo.TargetNs, clientNs: topo.PodNs, OverlayTopology.RemoteTarget6);
            TooBig(topo, OverlayTopology.RemoteTarget4, mtu: 1500 - 40 - 8 - 16);
        });
    }

    /// <summary>(d) A kernel `seg6 mode encap` route sends to our End.DT4 and End.DT6 SIDs.</summary>
    [SkippableFact]
    public void KernelSeg6EncapReachesOurEndDt4AndEndDt6()
    {
        RequireTools();
        // The kernel side is seg6/seg6local routes: without CONFIG_IPV6_SEG6_LWTUNNEL there is no peer to test against.
        Requires.Kernel(KernelProbe.Seg6Lwtunnel);
        using var topo = new OverlayTopology(OverlayTopology.Kind.Srv6);
        RunWith(topo, () =>
        {
            Ping(topo, topo.TargetNs, OverlayTopology.PodIp4);
            Ping(topo, topo.TargetNs, OverlayTopology.PodIp6);
            Tcp(topo, serverNs: topo.PodNs, clientNs: topo.TargetNs, OverlayTopology.PodIp4);
            Tcp(topo, serverNs: topo.PodNs, clientNs: topo.TargetNs, OverlayTopology.PodIp6);
        });
    }

    private void RunWith(OverlayTopology topo, Action traffic)
    {
        output.WriteLine(topo.Notes);
        var fwd = topo.StartForwarder();
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            try { traffic(); }
            catch (Exception) { output.WriteLine(topo.Diagnostics()); throw; }
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), "forwarder did not stop:\n" + fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            Assert.DoesNotMatch(@"drop (UNKNOWN_SENDER|INVALID_VNI|NO_SID|NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT)", fwd.Output);
        }
        finally { output.WriteLine(fwd.Output); fwd.Dispose(); }
    }

    private static void Ping(OverlayTopology topo, string ns, string ip, params string[] extra)
    {
        // The first echo may race neighbour resolution and the kernel's tunnel set-up: three bounded tries.
        Sh.Result r = default!;
        for (int i = 0; i < 3; i++)
        {
            r = topo.Exec(ns, Short, ["ping", "-c", "3", "-i", "0.2", "-W", "2", .. extra, ip]);
            if (r.Ok && r.Output.Contains(" 0% packet loss")) return;
        }
        Assert.Fail($"ping {ip} from {ns}: {r.Output}");
    }

    /// <summary>
    /// A DF ping from the pod that would not fit the underlay once encapsulated is answered by our ICMP
    /// fragmentation-needed with the tunnel's MTU (the pod's kernel reports it), and one that fits passes.
    /// </summary>
    private static void TooBig(OverlayTopology topo, string ip, int mtu)
    {
        var big = topo.Exec(topo.PodNs, Short, "ping", "-c", "1", "-W", "2", "-M", "do", "-s", (mtu - 28 + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), ip);
        Assert.False(big.Ok, big.Output);
        Assert.Contains($"mtu = {mtu}", big.Output);
        Ping(topo, topo.PodNs, ip, "-M", "do", "-s", (mtu - 28).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void Tcp(OverlayTopology topo, string serverNs, string clientNs, string ip)
    {
        var server = topo.Start(serverNs, "python3", Echo, "tcp-server", "5001");
        try
        {
            Assert.True(server.WaitFor("listening", Short), server.Output);
            var c = topo.Exec(clientNs, Short, "python3", Echo, "tcp-client", ip, "5001", "300000");
            Assert.True(c.Ok && c.Output.Contains("echoed 300000"), $"tcp to {ip}: {c.Output}");
            Assert.True(server.WaitFor("served 300000", Short), server.Output);
        }
        finally { server.Dispose(); }
    }
}

/// <summary>
/// pod ── lxc │ dataplane (node "dp": 198.18.0.1, 2001:db8:0:1::1) │ underlay veth ── remote (node "remote":
/// 198.18.0.2, 2001:db8:0:1::2) where the kernel terminates VXLAN (device with VNI 42, the remote pod addresses on
/// it) or SRv6 (End.DT4/End.DT6 into a VRF holding the link to a target namespace with the remote pod addresses —
/// End.DX4 and End.DT6 in the main table when the kernel lacks VRF support — and seg6 encap routes back to our SIDs). Pod CIDRs: ours
/// 198.18.100.0/24 + fd00:100::/64, the remote's 198.18.101.0/24 + fd00:101::/64. Unique names; Dispose cleans up.
/// </summary>
internal sealed class OverlayTopology : IDisposable
{
    public enum Kind { Vxlan4, Vxlan6, Srv6 }

    public const string PodIp4 = "198.18.100.10", PodIp6 = "fd00:100::10", PodMac = "02:00:00:00:c1:01";
    public const string RemoteTarget4 = "198.18.101.20", RemoteTarget6 = "fd00:101::20";
    public const string RouterMac = "02:00:00:00:00:99", VxlanMac = "02:00:00:00:e0:01";
    public const string Sid4 = "2001:db8:a::4", Sid6 = "2001:db8:a::6", RemoteSid4 = "2001:db8:e::4", RemoteSid6 = "2001:db8:e::6";

    private readonly NetnsSet _set = new("dpo");
    private string _suffix => _set.Suffix;
    private readonly Kind _kind;
    public string DataplaneNs { get; }
    public string PodNs { get; }
    public string RemoteNs { get; }
    public string TargetNs { get; }
    public string ConfigDir { get; } = "";
    public string Notes { get; private set; } = "";
    private string Underlay => $"dpu{_suffix}";
    private string RemoteUnderlay => $"rmu{_suffix}";
    private string Lxc => PodTopology.LxcName("default", "client");

    public OverlayTopology(Kind kind)
    {
        _kind = kind;
        DataplaneNs = $"dpo-d-{_suffix}"; PodNs = $"dpo-p-{_suffix}"; RemoteNs = $"dpo-r-{_suffix}"; TargetNs = $"dpo-t-{_suffix}";
        try
        {
            ConfigDir = _set.Dir("cfg");
            Build();
        }
        catch { Dispose(); throw; }
    }

    private IEnumerable<string> Namespaces => _kind == Kind.Srv6 ? [DataplaneNs, PodNs, RemoteNs, TargetNs] : [DataplaneNs, PodNs, RemoteNs];

    private void Build()
    {
        foreach (var ns in Namespaces) _set.AddNamed(ns);
        // The dataplane namespace's kernel must stay out of the forwarder's links.
        NetnsSet.KernelStaysOff(DataplaneNs);
        Ns(RemoteNs, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.all.seg6_enabled=1",
            "net.ipv6.conf.default.seg6_enabled=1");

        // Pod.
        _set.Veth(Lxc, DataplaneNs, "eth0", PodNs);
        Sh.Must("ip", "-n", PodNs, "link", "set", "eth0", "address", PodMac);
        Sh.Must("ip", "-n", PodNs, "addr", "add", $"{PodIp4}/24", "dev", "eth0");
        Sh.Must("ip", "-n", PodNs, "addr", "add", $"{PodIp6}/64", "dev", "eth0", "nodad");
        Up(PodNs, "eth0"); Up(DataplaneNs, Lxc);
        Sh.Must("ip", "-n", PodNs, "route", "add", "default", "via", "198.18.100.1");
        Sh.Must("ip", "-n", PodNs, "-6", "route", "add", "default", "via", "fd00:100::1");

        // Underlay.
        _set.Veth(Underlay, DataplaneNs, RemoteUnderlay, RemoteNs);
        Ns(RemoteNs, "sysctl", "-qw", $"net.ipv6.conf.{RemoteUnderlay}.seg6_enabled=1");
        Sh.Must("ip", "-n", RemoteNs, "addr", "add", "198.18.0.2/24", "dev", RemoteUnderlay);
        Sh.Must("ip", "-n", RemoteNs, "addr", "add", "2001:db8:0:1::2/64", "dev", RemoteUnderlay, "nodad");
        Up(RemoteNs, RemoteUnderlay); Up(DataplaneNs, Underlay);

        string annotations;
        string overlay;
        if (_kind == Kind.Srv6)
        {
            BuildSrv6Remote();
            annotations = $"{{dataplane.io/tunnel: srv6, dataplane.io/srv6-sid4: \"{RemoteSid4}\", dataplane.io/srv6-sid6: \"{RemoteSid6}\"}}";
            overlay = $$"""
                  routes: [{destination: "2001:db8:e::/48", via: "2001:db8:0:1::2"}]
                  overlay:
                    locators: ["2001:db8:a::/48"]
                    sids: [{sid: "{{Sid4}}", behavior: End.DT4}, {sid: "{{Sid6}}", behavior: End.DT6}]
                """;
        }
        else
        {
            BuildVxlanRemote(_kind == Kind.Vxlan6);
            annotations = $"{{dataplane.io/tunnel: vxlan, dataplane.io/vxlan-mac: \"{VxlanMac}\"}}";
            overlay = $$"""
                  overlay:
                    underlay: {{(_kind == Kind.Vxlan6 ? "ipv6" : "ipv4")}}
                    peers: [{node: remote, vni: 42}]
                """;
        }
        WriteConfig(annotations, overlay);
    }

    private void BuildVxlanRemote(bool ipv6)
    {
        string vx = $"vx{_suffix}";
        string[] ends = ipv6 ? ["local", "2001:db8:0:1::2", "remote", "2001:db8:0:1::1"] : ["local", "198.18.0.2", "remote", "198.18.0.1"];
        Sh.Must("ip", ["-n", RemoteNs, "link", "add", vx, "address", VxlanMac, "type", "vxlan", "id", "42", .. ends,
            "dstport", "8472", "nolearning", "dev", RemoteUnderlay]);
        Sh.Must("ip", "-n", RemoteNs, "addr", "add", $"{RemoteTarget4}/24", "dev", vx);
        Sh.Must("ip", "-n", RemoteNs, "addr", "add", $"{RemoteTarget6}/64", "dev", vx, "nodad");
        Up(RemoteNs, vx);
        // The pods behind the tunnel: on-link through the VXLAN device, our router MAC as their neighbour.
        Sh.Must("ip", "-n", RemoteNs, "route", "add", "198.18.100.0/24", "dev", vx);
        Sh.Must("ip", "-n", RemoteNs, "-6", "route", "add", "fd00:100::/64", "dev", vx);
        Sh.Must("ip", "-n", RemoteNs, "neigh", "add", PodIp4, "lladdr", RouterMac, "dev", vx, "nud", "permanent");
        Sh.Must("ip", "-n", RemoteNs, "-6", "neigh", "add", PodIp6, "lladdr", RouterMac, "dev", vx, "nud", "permanent");
        Notes = $"kernel vxlan {vx}: id 42 dstport 8472 over IPv{(ipv6 ? 6 : 4)}";
    }

    private void BuildSrv6Remote()
    {
        // The remote pods live in the target namespace behind the remote node: 198.18.101.20 and fd00:101::20.
        string toTarget = $"rmt{_suffix}";
        _set.Veth(toTarget, RemoteNs, "eth0", TargetNs);
        // The kernel's seg6 encap does not do path MTU for what it encapsulates: leave room for IPv6 + SRH (64 bytes).
        Sh.Must("ip", "-n", TargetNs, "link", "set", "eth0", "mtu", "1436");
        Sh.Must("ip", "-n", RemoteNs, "link", "set", toTarget, "mtu", "1436");
        Sh.Must("ip", "-n", TargetNs, "addr", "add", $"{RemoteTarget4}/24", "dev", "eth0");
        Sh.Must("ip", "-n", TargetNs, "addr", "add", $"{RemoteTarget6}/64", "dev", "eth0", "nodad");
        Up(TargetNs, "eth0");
        Sh.Must("ip", "-n", TargetNs, "route", "add", "default", "via", "198.18.101.1");
        Sh.Must("ip", "-n", TargetNs, "-6", "route", "add", "default", "via", "fd00:101::1");
        Sh.Must("ip", "-n", RemoteNs, "sr", "tunsrc", "set", "2001:db8:0:1::2");
        Sh.Must("ip", "-n", RemoteNs, "-6", "route", "add", "2001:db8:a::/48", "via", "2001:db8:0:1::1", "dev", RemoteUnderlay);

        // End.DT4 needs a VRF device (kernel >= 5.11: `vrftable`, net.vrf.strict_mode=1) holding the target's link;
        // End.DT6 then decapsulates into the same VRF. The way back: seg6 encap routes in the VRF to our SIDs.
        string vrf = $"vrf{_suffix}";
        bool hasVrf = Sh.Run("ip", "-n", RemoteNs, "link", "add", vrf, "type", "vrf", "table", "100").Ok;
        string[] inVrf = hasVrf ? ["vrf", vrf] : [];
        if (hasVrf)
        {
            Up(RemoteNs, vrf);
            Ns(RemoteNs, "sysctl", "-qw", "net.vrf.strict_mode=1");
            Sh.Must("ip", "-n", RemoteNs, "link", "set", toTarget, "master", vrf);
        }
        Sh.Must("ip", "-n", RemoteNs, "addr", "add", "198.18.101.1/24", "dev", toTarget);
        Sh.Must("ip", "-n", RemoteNs, "addr", "add", "fd00:101::1/64", "dev", toTarget, "nodad");
        Up(RemoteNs, toTarget);
        if (hasVrf)
        {
            Sh.Must("ip", "-n", RemoteNs, "-6", "route", "add", $"{RemoteSid4}/128", "encap", "seg6local", "action", "End.DT4",
                "vrftable", "100", "dev", vrf);
            Sh.Must("ip", "-n", RemoteNs, "-6", "route", "add", $"{RemoteSid6}/128", "encap", "seg6local", "action", "End.DT6",
                "vrftable", "100", "dev", vrf);
            Notes = "kernel seg6local End.DT4 and End.DT6 into VRF table 100; seg6 encap back to our End.DT4/DT6";
        }
        else
        {
            // No CONFIG_NET_VRF on this kernel: End.DX4 (decapsulate, forward to a fixed IPv4 next hop) stands in for
            // End.DT4, and End.DT6 runs in its legacy mode (lookup in the main table).
            Sh.Must("ip", "-n", RemoteNs, "-6", "route", "add", $"{RemoteSid4}/128", "encap", "seg6local", "action", "End.DX4",
                "nh4", RemoteTarget4, "dev", toTarget);
            Sh.Must("ip", "-n", RemoteNs, "-6", "route", "add", $"{RemoteSid6}/128", "encap", "seg6local", "action", "End.DT6",
                "table", "254", "dev", RemoteUnderlay);
            Notes = "kernel without VRF support: seg6local End.DX4 stands in for End.DT4; End.DT6 (main table); seg6 encap back to our End.DT4/DT6";
        }
        Sh.Must("ip", ["-n", RemoteNs, "route", "add", "198.18.100.0/24", .. inVrf, "encap", "seg6", "mode", "encap", "segs", Sid4,
            "dev", RemoteUnderlay]);
        Sh.Must("ip", ["-n", RemoteNs, "-6", "route", "add", "fd00:100::/64", .. inVrf, "encap", "seg6", "mode", "encap", "segs", Sid6,
            "dev", RemoteUnderlay]);
    }

    private void WriteConfig(string remoteAnnotations, string overlay)
    {
        // No neighbours: the remote's underlay MAC is resolved by ARP/ND (its kernel answers).
        string ma = Mac(DataplaneNs, Underlay);
        File.WriteAllText(Path.Combine(ConfigDir, "cluster.yaml"), $$"""
            apiVersion: v1
            kind: Node
            metadata: {name: dp}
            spec: {podCIDRs: ["198.18.100.0/24", "fd00:100::/64"]}
            status: {addresses: [{type: InternalIP, address: 198.18.0.1}, {type: InternalIP, address: "2001:db8:0:1::1"}]}
            ---
            apiVersion: v1
            kind: Node
            metadata:
              name: remote
              annotations: {{remoteAnnotations}}
            spec: {podCIDRs: ["198.18.101.0/24", "fd00:101::/64"]}
            status: {addresses: [{type: InternalIP, address: 198.18.0.2}, {type: InternalIP, address: "2001:db8:0:1::2"}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: client
              namespace: default
              annotations: {dataplane.io/mac: "{{PodMac}}"}
            spec: {nodeName: dp}
            status: {podIPs: [{ip: {{PodIp4}}}, {ip: "{{PodIp6}}"}]}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: dp}
            spec:
              routerMac: "{{RouterMac}}"
              interfaces:
              - {name: {{Underlay}}, mac: "{{ma}}", addresses: ["198.18.0.1/24", "2001:db8:0:1::1/64"]}
            {{overlay}}
            """);
    }

    private static void Up(string ns, string dev) => NetnsSet.Up(ns, dev);

    private static void Ns(string ns, params string[] cmd) => NetnsSet.Must(ns, cmd);

    private static string Mac(string ns, string dev) => NetnsSet.Mac(ns, dev);

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => _set.Exec(ns, timeout, cmd);

    public Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    public Background StartForwarder()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        // Its own API socket and state dir: agents of tests running in parallel must not share the defaults.
        return Start(DataplaneNs, ["dotnet", dll, "run", "--config", ConfigDir, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(ConfigDir)]);
    }

    /// <summary>Routes, neighbours and links of the remote side, for a failure message.</summary>
    public string Diagnostics() =>
        string.Join("\n", new[] { "-d", "-6 -d" }.Select(f => Sh.Run("ip", ["-n", RemoteNs, .. f.Split(' '), "route", "show", "table", "all"]).Output)
            .Append(Sh.Run("ip", "-n", RemoteNs, "neigh").Output).Append(Sh.Run("ip", "-n", RemoteNs, "-d", "link").Output));

    public void Dispose() => _set.Dispose();
}
