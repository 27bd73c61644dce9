using System.Runtime.InteropServices;
using System.Text;
using Dataplane.Dpdk.Interop;

namespace Dataplane.Dpdk.Eal;

/// <summary>
/// The DPDK Environment Abstraction Layer of this process. DPDK allows one <c>rte_eal_init</c> per process (and none
/// after <c>rte_eal_cleanup</c>), so <see cref="Init"/> succeeds at most once; a second call is a
/// <see cref="DpdkException"/> rather than DPDK's undefined behaviour. The EAL's log during init is captured and
/// returned (<see cref="InitLog"/>) or put into the exception, so a bad <c>--vdev</c> names its cause.
/// </summary>
public sealed unsafe partial class DpdkEal : IDisposable
{
    private static int s_used;
    private bool _disposed;

    private readonly bool _ownsRuntimeDir;

    private DpdkEal(IReadOnlyList<string> args, string initLog, string runtimeDir, bool ownsRuntimeDir)
    {
        Args = args;
        InitLog = initLog;
        RuntimeDir = runtimeDir;
        _ownsRuntimeDir = ownsRuntimeDir;
    }

    /// <summary>The full EAL argument list used (the user's plus defaults, see <see cref="EalArgs"/>).</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>What the EAL logged while initialising (drivers probed, IOVA mode, warnings).</summary>
    public string InitLog { get; }

    /// <summary>The EAL's runtime directory (/var/run/dpdk/PREFIX as root), removed on <see cref="Dispose"/>.</summary>
    public string RuntimeDir { get; }

    /// <summary>
    /// Initialises the EAL with <paramref name="userArgs"/> plus <see cref="EalArgs.WithDefaults"/>. The calling
    /// thread's CPU affinity is restored afterwards (the EAL pins its caller to the main lcore; threads created
    /// later inherit that).
    /// </summary>
    public static DpdkEal Init(IReadOnlyList<string> userArgs)
    {
        if (Interlocked.Exchange(ref s_used, 1) != 0)
            throw new DpdkException("DPDK EAL already initialised in this process: DPDK allows one rte_eal_init per process (use one DpdkEal, or a child process)");
        int firstCpu = FirstAllowedCpu();
        var args = EalArgs.WithDefaults(userArgs, EalArgs.FreeHugepages(), firstCpu, Environment.ProcessId);

        // argv stays allocated for the life of the process: the EAL may keep pointers into it.
        var argv = (byte**)NativeMemory.AllocZeroed((nuint)(args.Count + 2), (nuint)sizeof(byte*));
        argv[0] = Utf8("dataplane");
        for (int i = 0; i < args.Count; i++) argv[i + 1] = Utf8(args[i]);

        // The runtime directory is removed at the end only if this process created it (never another process's).
        string expectedDir = ExpectedRuntimeDir(args);
        bool dirExisted = Directory.Exists(expectedDir);

        const int maskBytes = 128;
        byte* mask = stackalloc byte[maskBytes];
        bool haveMask = LibC.sched_getaffinity(0, maskBytes, mask) == 0;

        byte* logBuf = null;
        nuint logLen = 0;
        void* logFile = LibC.open_memstream(&logBuf, &logLen);
        if (logFile != null) Rte.rte_openlog_stream(logFile);
        int rc, err;
        try
        {
            rc = Rte.rte_eal_init(args.Count + 1, argv);
            err = rc < 0 ? Rte.Errno() : 0;
        }
        finally
        {
            if (haveMask) LibC.sched_setaffinity(0, maskBytes, mask);
        }
        string log = "";
        if (logFile != null)
        {
            Rte.rte_openlog_stream(null);
            LibC.fflush(logFile);
            log = logBuf == null ? "" : Encoding.UTF8.GetString(logBuf, (int)logLen);
            LibC.fclose(logFile);
            LibC.free(logBuf);
        }
        if (rc < 0)
        {
            if (!dirExisted) RemoveDir(expectedDir);
            string reason = err != 0 ? $"{Rte.StrError(err)} (rte_errno {err})" : "failed";
            throw new DpdkException($"DPDK EAL initialisation failed: {reason}; EAL arguments: {string.Join(' ', args)}" +
                (log.Length > 0 ? $"\nEAL log:\n{log.TrimEnd()}" : "") +
                "\nCheck --vdev names and arguments (the interfaces must exist), memory (-m) and permissions (root).");
        }
        byte* dir = Rte.rte_eal_get_runtime_dir();
        string runtimeDir = dir == null ? "" : Marshal.PtrToStringUTF8((nint)dir) ?? "";
        return new DpdkEal(args, log, runtimeDir, !dirExisted && runtimeDir == expectedDir);
    }

    /// <summary>rte_eal_cleanup (after every port and pool is gone), then removes the runtime directory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Rte.rte_eal_cleanup();
        // DPDK may leave config/fbarray files in its runtime directory; this process created it, so remove it.
        if (_ownsRuntimeDir) RemoveDir(RuntimeDir);
    }

    /// <summary>Where the EAL puts its runtime files for the arguments' --file-prefix (default "rte").</summary>
    internal static string ExpectedRuntimeDir(IReadOnlyList<string> args)
    {
        string prefix = "rte";
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--file-prefix" && i + 1 < args.Count) prefix = args[i + 1];
            else if (args[i].StartsWith("--file-prefix=", StringComparison.Ordinal)) prefix = args[i]["--file-prefix=".Length..];
        }
        string baseDir = geteuid() == 0 ? "/var/run"
            : Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } x ? x : "/tmp";
        return Path.Combine(baseDir, "dpdk", prefix);
    }

    private static void RemoveDir(string dir)
    {
        if (dir.Length == 0) return;
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [LibraryImport(RteLibs.LibC)]
    private static partial uint geteuid();

    private static byte* Utf8(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    private static int FirstAllowedCpu()
    {
        const int maskBytes = 128;
        byte* mask = stackalloc byte[maskBytes];
        if (LibC.sched_getaffinity(0, maskBytes, mask) != 0) return 0;
        for (int i = 0; i < maskBytes * 8; i++)
            if ((mask[i >> 3] & (1 << (i & 7))) != 0) return i;
        return 0;
    }
}
