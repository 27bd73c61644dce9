using System.Runtime.InteropServices;

namespace Dataplane.Host.Backends.Ebpf;

/// <summary>
/// The kernel's own accounting of the XDP program (bpf_prog_info.run_cnt / run_time_ns, what `bpftool prog show`
/// prints): collected only while sysctl kernel.bpf_stats_enabled=1, since it costs two clock reads per run.
/// It is the one CPU figure for the offload that a busy shared machine does not blur: the program's own time per
/// packet, without the redirect and transmit that follow it.
/// </summary>
internal static unsafe partial class ProgramStats
{
    // Offsets in struct bpf_prog_info (linux/bpf.h, stable UAPI: fields are only appended).
    private const int InfoSize = 232, RunTimeNsOffset = 192, RunCntOffset = 200;

    [LibraryImport("libbpf.so.1")]
    private static partial int bpf_obj_get_info_by_fd(int fd, void* info, uint* infoLen);

    /// <summary>Runs counted and their total time; (0, 0) when stats are off or the kernel does not answer.</summary>
    public static (ulong Runs, ulong Nanos) Of(int programFd)
    {
        byte* info = stackalloc byte[InfoSize];
        new Span<byte>(info, InfoSize).Clear();
        uint len = InfoSize;
        if (bpf_obj_get_info_by_fd(programFd, info, &len) != 0 || len < RunCntOffset + 8) return (0, 0);
        return (*(ulong*)(info + RunCntOffset), *(ulong*)(info + RunTimeNsOffset));
    }

    /// <summary>"XDP program: N runs, X ns per run" or a hint how to get it.</summary>
    public static string Describe(int programFd)
    {
        var (runs, ns) = Of(programFd);
        return runs == 0 ? "XDP program run time not counted (sysctl kernel.bpf_stats_enabled=1 counts it)"
            : $"XDP program {runs} runs, {(double)ns / runs:F0} ns per run";
    }
}
