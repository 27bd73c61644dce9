
namespace Dataplane.Dpdk.Tests.Support;

/// <summary>
/// What these tests need: root (DPDK's af_packet/tap drivers and namespaces), DPDK 22.11's libraries and drivers
/// (Debian's dpdk, dpdk-dev, libdpdk-dev; CI installs them), gcc and pkg-config for the layout test. Missing any of
/// them makes the test SKIPPED with the reason on the runner's skip line, never a silent pass.
/// </summary>
internal static class DpdkEnv
{
    public static void Require(bool namespaces = false, bool compiler = false)
    {
        Requires.Root();
        Skip.If(!File.Exists("/usr/lib/x86_64-linux-gnu/librte_eal.so.23") && !File.Exists("/usr/lib/aarch64-linux-gnu/librte_eal.so.23"),
            "needs DPDK 22.11: not installed (`./dev test` and .ci/run install dpdk, dpdk-dev, libdpdk-dev)");
        if (compiler) Requires.Tools("gcc", "pkg-config");
        if (namespaces) Requires.Tools("ip", "ping", "python3");
    }

    /// <summary>A --file-prefix unique to this run.</summary>
    public static string NewPrefix() => "dpt-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    /// <summary>The EAL's runtime directory for a prefix when running as root.</summary>
    public static string RuntimeDir(string prefix) => Path.Combine("/var/run/dpdk", prefix);

    public static long HugepagesTotal()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("HugePages_Total:", StringComparison.Ordinal))
                return long.Parse(line["HugePages_Total:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }
}
