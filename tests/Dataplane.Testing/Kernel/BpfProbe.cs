using System.Runtime.InteropServices;
using Dataplane.Testing.Netns;

namespace Dataplane.Testing.Kernel;

/// <summary>
/// Asks the kernel directly, with the bpf(2) syscall and a two-instruction program (r0 = verdict; exit), whether
/// it loads XDP and TC programs and attaches them the way the datapath does: XDP in native (driver) mode on a
/// veth through a bpf_link, and TC through a tcx link (kernel 6.6+). Independent of the code under test and of
/// clang, so a missing feature is told apart from a build problem.
/// </summary>
internal static unsafe partial class BpfProbe
{
    private const int BPF_PROG_LOAD = 5, BPF_LINK_CREATE = 28;
    private const uint BPF_PROG_TYPE_SCHED_CLS = 3, BPF_PROG_TYPE_XDP = 6;
    private const uint BPF_XDP = 37, BPF_TCX_INGRESS = 46;
    private const uint XDP_FLAGS_DRV_MODE = 1u << 2;

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, int cmd, void* attr, uint size);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    private static long SysBpf => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 280 : 321;

    /// <summary>Loads a program returning <paramref name="verdict"/>; the fd, or the errno text.</summary>
    private static (int Fd, string Error) Load(uint progType, uint expectedAttach, int verdict)
    {
        ulong* insns = stackalloc ulong[2];
        insns[0] = 0xb7UL | ((ulong)(uint)verdict << 32); // BPF_ALU64 | BPF_MOV | BPF_K: r0 = verdict
        insns[1] = 0x95UL;                                  // BPF_JMP | BPF_EXIT
        byte* license = stackalloc byte[4] { (byte)'G', (byte)'P', (byte)'L', 0 };
        byte* attr = stackalloc byte[128];
        new Span<byte>(attr, 128).Clear();
        *(uint*)(attr + 0) = progType;
        *(uint*)(attr + 4) = 2;                 // insn_cnt
        *(ulong*)(attr + 8) = (ulong)insns;
        *(ulong*)(attr + 16) = (ulong)license;
        *(uint*)(attr + 68) = expectedAttach;   // expected_attach_type
        long fd = syscall(SysBpf, BPF_PROG_LOAD, attr, 128);
        return fd < 0 ? (-1, Errno()) : ((int)fd, "");
    }

    private static (int Fd, string Error) LinkCreate(int progFd, int ifindex, uint attachType, uint flags)
    {
        byte* attr = stackalloc byte[64];
        new Span<byte>(attr, 64).Clear();
        *(uint*)(attr + 0) = (uint)progFd;
        *(uint*)(attr + 4) = (uint)ifindex;
        *(uint*)(attr + 8) = attachType;
        *(uint*)(attr + 12) = flags;
        long fd = syscall(SysBpf, BPF_LINK_CREATE, attr, 64);
        return fd < 0 ? (-1, Errno()) : ((int)fd, "");
    }

    private static string Errno() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());

    /// <summary>XDP program loaded and linked in native mode to <paramref name="veth"/> of <paramref name="ns"/>.</summary>
    public static Capability XdpNativeOnVeth(string ns, string veth) =>
        Attach(Capability.XdpNativeVeth, ns, veth, BPF_PROG_TYPE_XDP, BPF_XDP, verdict: 2 /* XDP_PASS */, BPF_XDP, XDP_FLAGS_DRV_MODE);

    /// <summary>TC (sched_cls) program loaded and attached with a tcx link to <paramref name="veth"/>.</summary>
    public static Capability Tcx(string ns, string veth) =>
        Attach(Capability.BpfTcx, ns, veth, BPF_PROG_TYPE_SCHED_CLS, BPF_TCX_INGRESS, verdict: -1 /* TCX_NEXT */, BPF_TCX_INGRESS, 0);

    private static Capability Attach(string name, string ns, string veth, uint progType, uint expected, int verdict, uint attachType, uint flags)
    {
        var (prog, loadError) = Load(progType, expected, verdict);
        if (prog < 0) return new Capability(name, false, $"BPF_PROG_LOAD refused: {loadError}");
        try
        {
            return InNetns.Run(ns, () =>
            {
                int ifindex = InNetns.IfIndex(veth);
                if (ifindex == 0) return new Capability(name, false, $"probe veth {veth} not found");
                var (link, linkError) = LinkCreate(prog, ifindex, attachType, flags);
                if (link < 0) return new Capability(name, false, $"BPF_LINK_CREATE refused: {linkError}");
                close(link);
                return new Capability(name, true, "");
            });
        }
        finally { close(prog); }
    }
}
