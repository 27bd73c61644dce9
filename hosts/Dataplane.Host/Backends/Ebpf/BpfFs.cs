using System.Runtime.InteropServices;

namespace Dataplane.Host.Backends.Ebpf;

/// <summary>
/// Makes sure the pin directory lies on a bpffs. On a host /sys/fs/bpf is one (systemd mounts it); under
/// `ip netns exec` it is not — that command remounts /sys for the namespace — so the agent mounts a bpffs there
/// itself, as Cilium's agent does. Such a mount lives in that private mount namespace only: maps pinned there
/// do not outlive the agent (the attached program keeps its maps alive and keeps forwarding regardless).
/// </summary>
internal static partial class BpfFs
{
    public const string Root = "/sys/fs/bpf";

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string source, string target, string fstype, nuint flags, nint data);

    /// <summary>Returns what was done ("" when bpffs was already there); throws IOException when it cannot mount.</summary>
    public static string Ensure(string pinDirectory)
    {
        string full = Path.GetFullPath(pinDirectory);
        if (IsBpfFs(full)) return "";
        if (!full.StartsWith(Root + "/", StringComparison.Ordinal))
            throw new IOException($"--bpf-pin-dir {pinDirectory} is not on a bpffs (mount one, or pin under {Root})");
        Directory.CreateDirectory(Root);
        if (mount("bpf", Root, "bpf", 0, 0) != 0)
            throw new IOException($"mounting bpffs at {Root} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return $"mounted a bpffs at {Root} (none in this mount namespace: pins last as long as it)";
    }

    /// <summary>The longest mount point covering <paramref name="path"/> is a bpf mount.</summary>
    private static bool IsBpfFs(string path)
    {
        string best = "", type = "";
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var f = line.Split(' ');
            if (f.Length < 3) continue;
            string mp = f[1].Replace("\\040", " ");
            bool covers = path == mp || path.StartsWith(mp.TrimEnd('/') + "/", StringComparison.Ordinal);
            if (covers && mp.Length >= best.Length) { best = mp; type = f[2]; }
        }
        return type == "bpf";
    }
}
