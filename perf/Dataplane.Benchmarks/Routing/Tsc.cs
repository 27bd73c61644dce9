using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dataplane.Benchmarks.Routing;

/// <summary>
/// Reads the x86 time-stamp counter, the clock DPDK's perf tests count in (rte_rdtsc). .NET has no rdtsc
/// intrinsic, so on x64 Linux we map a 12-byte stub (rdtsc; shl rdx,32; or rax,rdx; ret) into an executable
/// page and call it through a function pointer. Elsewhere we fall back to Stopwatch ticks converted with a
/// TSC frequency calibrated against Stopwatch (or none, and say so).
/// </summary>
internal static unsafe partial class Tsc
{
    private static readonly delegate* unmanaged<ulong> s_rdtsc = MapStub();

    /// <summary>True when <see cref="Read"/> is the hardware counter.</summary>
    public static bool IsHardware => s_rdtsc != null;

    public static ulong Read() => s_rdtsc != null ? s_rdtsc() : (ulong)Stopwatch.GetTimestamp();

    /// <summary>Counter ticks per second, measured over <paramref name="interval"/> against the monotonic clock.</summary>
    public static double MeasureHz(TimeSpan interval)
    {
        long w0 = Stopwatch.GetTimestamp();
        ulong t0 = Read();
        while (Stopwatch.GetElapsedTime(w0) < interval) { }
        ulong t1 = Read();
        long w1 = Stopwatch.GetTimestamp();
        return (t1 - t0) / ((double)(w1 - w0) / Stopwatch.Frequency);
    }

    private static delegate* unmanaged<ulong> MapStub()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        ReadOnlySpan<byte> code = [0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3];
        const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 0x02, MapAnonymous = 0x20;
        void* page = mmap(null, 4096, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == (void*)-1) return null;
        code.CopyTo(new Span<byte>(page, 4096));
        if (mprotect(page, 4096, ProtRead | ProtExec) != 0) return null;
        return (delegate* unmanaged<ulong>)page;
    }

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int mprotect(void* addr, nuint length, int prot);
}
