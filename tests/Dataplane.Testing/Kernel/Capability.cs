namespace Dataplane.Testing.Kernel;

/// <summary>One thing a test may need from the machine, whether it is there, and if not, what the kernel said.</summary>
public sealed record Capability(string Name, bool Present, string Detail)
{
    public const string Root = "root";
    public const string Seg6Lwtunnel = "seg6 lwtunnel (CONFIG_IPV6_SEG6_LWTUNNEL)";
    public const string Vrf = "VRF devices (CONFIG_NET_VRF)";
    public const string Dummy = "dummy devices (CONFIG_DUMMY)";
    public const string XdpNativeVeth = "native XDP on veth (bpf_link)";
    public const string BpfTcx = "BPF tcx links (kernel 6.6+)";
    public const string Btf = "kernel BTF (/sys/kernel/btf/vmlinux)";
    public const string Hugepages = "free hugepages";

    /// <summary>The line a skipped test shows: what is missing and why.</summary>
    public string SkipReason => $"needs {Name}: {Detail}";

    public override string ToString() => Present ? $"{Name}: yes" : $"{Name}: NO — {Detail}";
}
