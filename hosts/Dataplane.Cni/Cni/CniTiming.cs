using System.Diagnostics;
using System.Globalization;

namespace Dataplane.Cni.Cni;

/// <summary>
/// Where one plugin run spends its time, by phase (agent, ipam, link, register …), printed as one stderr line when
/// DATAPLANE_CNI_TIMING is set — what perf/cni-add/run.sh's PROFILE mode reads. Costs nothing when unset.
/// </summary>
internal static class CniTiming
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();
    private static readonly List<(string Phase, double Ms)> Phases = [];
    private static double _last;

    public static bool Enabled { get; set; }

    /// <summary>Ends the phase running since the previous mark.</summary>
    public static void Mark(string phase)
    {
        if (!Enabled) return;
        double now = Clock.Elapsed.TotalMilliseconds;
        Phases.Add((phase, now - _last));
        _last = now;
    }

    public static void Report(TextWriter stderr)
    {
        if (!Enabled) return;
        var parts = Phases.Select(p => $"{p.Phase} {p.Ms.ToString("0.0", CultureInfo.InvariantCulture)}");
        stderr.WriteLine($"dataplane-cni timing (ms): {string.Join(", ", parts)}, in-process total {Clock.Elapsed.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)}");
    }
}
