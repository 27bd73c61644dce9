using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// Captures libbpf's own messages (why a pinned map could not be reused, which relocation failed …) while an
/// object is opened and loaded, so a failed load reports them along with the verifier log.
/// </summary>
internal static unsafe partial class LibbpfLog
{
    private static readonly Lock Gate = new();
    private static StringBuilder? _sink;
    private static bool _installed;

    [LibraryImport("libbpf.so.1")]
    private static partial void* libbpf_set_print(delegate* unmanaged<int, byte*, void*, int> fn);

    [LibraryImport("libc")]
    private static partial int vsnprintf(byte* buf, nuint size, byte* fmt, void* args);

    /// <summary>Runs <paramref name="action"/> with libbpf's messages collected; returns them.</summary>
    public static string Capture(Action action)
    {
        lock (Gate)
        {
            if (!_installed) { libbpf_set_print(&Print); _installed = true; }
            _sink = new StringBuilder();
            action();
            string text = _sink.ToString();
            _sink = null;
            return text;
        }
    }

    [UnmanagedCallersOnly]
    private static int Print(int level, byte* fmt, void* args)
    {
        // Warnings and info only: the debug level (2) narrates every relocation and buries the cause.
        if (level > 1) return 0;
        const int size = 4096;
        byte* buf = stackalloc byte[size];
        int n = vsnprintf(buf, size, fmt, args);
        if (n > 0) _sink?.Append(Encoding.UTF8.GetString(buf, Math.Min(n, size - 1)));
        return 0;
    }
}
