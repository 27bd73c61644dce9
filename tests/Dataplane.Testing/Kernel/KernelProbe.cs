using Dataplane.Testing.Netns;
using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Kernel;

/// <summary>
/// What this machine's kernel can do, asked once per test process (the first test that needs an answer pays
/// for it) in a scratch network namespace that is deleted afterwards: the same `ip` commands and bpf(2) calls the
/// tests make, so "absent" means exactly "the test's set-up would fail here". Nothing is assumed from the
/// kernel version or the config file.
/// </summary>
public static class KernelProbe
{
    private static readonly Lazy<IReadOnlyDictionary<string, Capability>> All = new(Probe);

    /// <summary>Asked directly (not through the probe: the probe's own namespace needs it first).</summary>
    public static Capability Root { get; } = new(Capability.Root, Sh.IsRoot, "the test process is not root (namespaces, BPF and raw sockets need it)");
    public static Capability Seg6Lwtunnel => Get(Capability.Seg6Lwtunnel);
    public static Capability Vrf => Get(Capability.Vrf);
    public static Capability Dummy => Get(Capability.Dummy);
    public static Capability XdpNativeVeth => Get(Capability.XdpNativeVeth);
    public static Capability BpfTcx => Get(Capability.BpfTcx);
    public static Capability Btf => Get(Capability.Btf);
    public static Capability Hugepages => Get(Capability.Hugepages);

    /// <summary>Every capability, for a report.</summary>
    public static IEnumerable<Capability> Report => All.Value.Values;

    private static Capability Get(string name) => All.Value[name];

    private static IReadOnlyDictionary<string, Capability> Probe()
    {
        var found = new List<Capability>
        {
            Root,
            ProbeBtf(),
            ProbeHugepages(),
        };
        found.AddRange(Sh.IsRoot && Sh.Has("ip") ? InScratchNamespace() : NoNamespaces());
        return found.ToDictionary(c => c.Name);
    }

    private static IEnumerable<Capability> NoNamespaces()
    {
        string why = Sh.IsRoot ? "iproute2 (ip) is not installed" : "not root: cannot make a network namespace to ask in";
        foreach (var n in new[] { Capability.Seg6Lwtunnel, Capability.Vrf, Capability.Dummy, Capability.XdpNativeVeth, Capability.BpfTcx })
            yield return new Capability(n, false, why);
    }

    private static List<Capability> InScratchNamespace()
    {
        using var set = new NetnsSet("dpcap");
        string ns = set.Add("probe");
        var found = new List<Capability>
        {
            // Both seg6 route kinds come with CONFIG_IPV6_SEG6_LWTUNNEL: the SRv6 tests need End (seg6local) and encap (seg6).
            Ip(Capability.Seg6Lwtunnel, ns, "-6", "route", "add", "2001:db8:ffff::1/128", "encap", "seg6local", "action", "End", "dev", "lo"),
            Ip(Capability.Vrf, ns, "link", "add", "dpcapvrf", "type", "vrf", "table", "100"),
            Ip(Capability.Dummy, ns, "link", "add", "dpcapdum", "type", "dummy"),
        };
        if (found[0].Present)
            found[0] = Ip(Capability.Seg6Lwtunnel, ns, "-6", "route", "add", "2001:db8:fffe::/64", "encap", "seg6", "mode", "encap",
                "segs", "2001:db8:ffff::2", "dev", "lo");
        try
        {
            set.Veth("dpcapa", ns, "dpcapb", ns);
            Sh.Must("ip", "-n", ns, "link", "set", "dpcapa", "up");
            Sh.Must("ip", "-n", ns, "link", "set", "dpcapb", "up");
            found.Add(BpfProbe.XdpNativeOnVeth(ns, "dpcapa"));
            found.Add(BpfProbe.Tcx(ns, "dpcapb"));
        }
        catch (InvalidOperationException e)
        {
            found.Add(new Capability(Capability.XdpNativeVeth, false, e.Message));
            found.Add(new Capability(Capability.BpfTcx, false, e.Message));
        }
        return found;
    }

    /// <summary>Present when `ip -n NS …` succeeds; otherwise the kernel's own words (e.g. "lwt encapsulation type not supported").</summary>
    private static Capability Ip(string name, string ns, params string[] args)
    {
        var r = Sh.Run("ip", ["-n", ns, .. args]);
        return new Capability(name, r.Ok, r.Ok ? "" : $"`ip {string.Join(' ', args)}`: {r.Output.Trim()}");
    }

    private static Capability ProbeBtf() => File.Exists("/sys/kernel/btf/vmlinux")
        ? new Capability(Capability.Btf, true, "")
        : new Capability(Capability.Btf, false, "/sys/kernel/btf/vmlinux is missing (CONFIG_DEBUG_INFO_BTF off)");

    private static Capability ProbeHugepages()
    {
        long free = 0;
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("HugePages_Free:", StringComparison.Ordinal))
                free = long.Parse(line["HugePages_Free:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return new Capability(Capability.Hugepages, free > 0, free > 0 ? "" : "HugePages_Free is 0 (none reserved: vm.nr_hugepages)");
    }
}
