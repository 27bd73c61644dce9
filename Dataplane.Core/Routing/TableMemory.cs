using System.Runtime.InteropServices;

namespace Dataplane.Core.Routing;

/// <summary>
/// Native memory for the large directly indexed tables (a 64 MiB tbl24). Random lookups into such a table
/// miss the TLB on nearly every access with 4 KiB pages, and the page walk, not the cache miss, bounds the
/// lookup rate. On Linux the block is 2 MiB aligned and advised for transparent huge pages before it is
/// first touched, so the kernel backs it with 2 MiB pages when it can (THP "madvise" or "always" mode);
/// elsewhere, or if the kernel declines, it is ordinary memory.
/// </summary>
internal static unsafe partial class TableMemory
{
    private const nuint HugePage = 2 << 20;
    private const int MadvHugePage = 14;

    /// <summary>Off switch for measurements that must run on 4 KiB pages (e.g. like-for-like with a peer
    /// that does). Read when a table is allocated.</summary>
    internal static bool UseHugePages { get; set; } = true;

    /// <summary>Zeroed, page-aligned block of <paramref name="bytes"/>; free with <see cref="Free"/>.</summary>
    public static void* AllocZeroed(nuint bytes)
    {
        bool huge = UseHugePages && OperatingSystem.IsLinux() && bytes >= HugePage;
        void* p = NativeMemory.AlignedAlloc(bytes, huge ? HugePage : 4096);
        if (huge) _ = madvise(p, bytes, MadvHugePage); // advisory: failure just means 4 KiB pages
        // Zeroed eagerly rather than calloc'd, so lookups into uncovered space touch real pages, as they
        // would in a long-lived table, instead of the kernel's shared zero page.
        NativeMemory.Clear(p, bytes);
        // Tell the GC what a table really costs, so that replaced snapshots' tables (freed by finalizers)
        // are collected promptly instead of piling up behind a tiny managed footprint.
        GC.AddMemoryPressure((long)bytes);
        Sizes[(nint)p] = bytes;
        return p;
    }

    /// <summary>Advises huge pages for a block mapped elsewhere (a shared conntrack file): honoured on a tmpfs mounted
    /// with huge=advise or huge=within_size, ignored otherwise.</summary>
    /// <summary>A copy of a table allocated here (<paramref name="bytes"/> long), with the same page advice.</summary>
    public static void* AllocCopy(void* source, nuint bytes)
    {
        bool huge = UseHugePages && OperatingSystem.IsLinux() && bytes >= HugePage;
        void* p = NativeMemory.AlignedAlloc(bytes, huge ? HugePage : 4096);
        if (huge) _ = madvise(p, bytes, MadvHugePage);
        Buffer.MemoryCopy(source, p, (long)bytes, (long)bytes);
        GC.AddMemoryPressure((long)bytes);
        Sizes[(nint)p] = bytes;
        return p;
    }

    public static void AdviseHugePages(void* p, nuint bytes)
    {
        if (UseHugePages && OperatingSystem.IsLinux() && bytes >= HugePage) _ = madvise(p, bytes, MadvHugePage);
    }

    public static void Free(void* p)
    {
        if (Sizes.TryRemove((nint)p, out var bytes)) GC.RemoveMemoryPressure((long)bytes);
        NativeMemory.AlignedFree(p);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<nint, nuint> Sizes = new();

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int madvise(void* addr, nuint length, int advice);
}
