using System.Globalization;
using System.Text;

namespace Dataplane.Dpdk.Eal;

/// <summary>
/// EAL command lines: splitting the user's string, the defaults this backend adds, and which network interface each
/// virtual device serves. Defaults are added only for what the user did not say: <c>--no-huge -m 256</c> unless
/// hugepages are free (then the EAL uses them), <c>--file-prefix dataplane-PID</c> (runtime files are then this
/// process's alone and removed at cleanup), <c>-l</c> with the first allowed CPU (the EAL's main lcore; the
/// forwarding threads are registered separately), <c>--no-pci</c> unless a PCI device is allowed or blocked
/// (<c>-a</c>/<c>-b</c>), and <c>--no-telemetry</c> unless <c>--telemetry</c> is given.
/// </summary>
public static class EalArgs
{
    /// <summary>Splits a command-line string on whitespace, honouring single and double quotes.</summary>
    public static List<string> Split(string? text)
    {
        var result = new List<string>();
        if (string.IsNullOrWhiteSpace(text)) return result;
        var cur = new StringBuilder();
        bool inToken = false;
        char quote = '\0';
        foreach (char c in text)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0'; else cur.Append(c);
                continue;
            }
            if (c is '\'' or '"') { quote = c; inToken = true; continue; }
            if (char.IsWhiteSpace(c))
            {
                if (inToken) { result.Add(cur.ToString()); cur.Clear(); inToken = false; }
                continue;
            }
            cur.Append(c); inToken = true;
        }
        if (quote != '\0') throw new DpdkException($"DPDK arguments: unterminated {quote} quote in \"{text}\"");
        if (inToken) result.Add(cur.ToString());
        return result;
    }

    /// <summary>True when <paramref name="args"/> contains the option (as <c>--opt</c>, <c>--opt=v</c>, or <c>-xV</c> for a short one).</summary>
    public static bool Has(IReadOnlyList<string> args, string option)
    {
        bool isShort = option.Length == 2 && option[0] == '-' && option[1] != '-';
        foreach (var a in args)
        {
            if (a == option) return true;
            if (!isShort && a.StartsWith(option + "=", StringComparison.Ordinal)) return true;
            if (isShort && a.Length > 2 && a.StartsWith(option, StringComparison.Ordinal) && a[1] != '-') return true;
        }
        return false;
    }

    /// <summary>
    /// The user's arguments plus the defaults for what they left out, given the free hugepages on the machine
    /// (<see cref="FreeHugepages"/>), the first CPU this process may run on and its pid.
    /// </summary>
    public static List<string> WithDefaults(IReadOnlyList<string> user, long hugepagesFree, int firstCpu, int pid)
    {
        var args = new List<string>(user);
        bool memoryGiven = Has(user, "-m") || Has(user, "--socket-mem");
        if (!Has(user, "--no-huge") && !Has(user, "--huge-dir") && hugepagesFree == 0)
            args.Add("--no-huge");
        if (Has(args, "--no-huge") && !memoryGiven) args.AddRange(["-m", "256"]);
        if (!Has(user, "--file-prefix") && !Has(user, "--in-memory"))
            args.Add("--file-prefix=dataplane-" + pid.ToString(CultureInfo.InvariantCulture));
        if (!Has(user, "-l") && !Has(user, "-c") && !Has(user, "--lcores"))
            args.AddRange(["-l", firstCpu.ToString(CultureInfo.InvariantCulture)]);
        if (!Has(user, "-a") && !Has(user, "--allow") && !Has(user, "-b") && !Has(user, "--block") && !Has(user, "--no-pci"))
            args.Add("--no-pci");
        if (!Has(user, "--telemetry") && !Has(user, "--no-telemetry")) args.Add("--no-telemetry");
        return args;
    }

    /// <summary>The values of every <c>--vdev</c> (both <c>--vdev X</c> and <c>--vdev=X</c>).</summary>
    public static List<string> Vdevs(IReadOnlyList<string> args)
    {
        var list = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--vdev" && i + 1 < args.Count) list.Add(args[++i]);
            else if (args[i].StartsWith("--vdev=", StringComparison.Ordinal)) list.Add(args[i]["--vdev=".Length..]);
        }
        return list;
    }

    /// <summary>
    /// Device name → the Linux interface it serves, for every vdev with an <c>iface=</c> argument
    /// (net_af_packet, net_af_xdp, net_tap): <c>net_af_packet0,iface=eth0</c> gives net_af_packet0 → eth0.
    /// </summary>
    public static Dictionary<string, string> InterfacesByDevice(IReadOnlyList<string> args)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var vdev in Vdevs(args))
        {
            var parts = vdev.Split(',');
            foreach (var kv in parts.Skip(1))
                if (kv.StartsWith("iface=", StringComparison.Ordinal)) map[parts[0]] = kv["iface=".Length..];
        }
        return map;
    }

    /// <summary>
    /// Free hugepages of every size (from /sys/kernel/mm/hugepages) that the EAL can use: 0 when none, when
    /// unreadable, or when no hugetlbfs is mounted (the EAL would then fail to find them).
    /// </summary>
    public static long FreeHugepages()
    {
        const string dir = "/sys/kernel/mm/hugepages";
        long free = 0;
        if (!Directory.Exists(dir) || !HugetlbfsMounted()) return 0;
        foreach (var d in Directory.EnumerateDirectories(dir))
        {
            try
            {
                if (long.TryParse(File.ReadAllText(Path.Combine(d, "free_hugepages")).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                    free += n;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return free;
    }

    private static bool HugetlbfsMounted()
    {
        try { return File.ReadLines("/proc/mounts").Any(l => l.Split(' ') is [_, _, "hugetlbfs", ..]); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
