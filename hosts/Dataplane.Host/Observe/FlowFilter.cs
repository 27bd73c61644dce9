using System.Text.Json;

namespace Dataplane.Host.Observe;

/// <summary>
/// Which flows <c>observe</c> shows, with hubble observe's meaning: <c>--verdict</c> matches flow.verdict
/// (FORWARDED, DROPPED), <c>--pod NS/NAME</c> (or just NAME in the default namespace, or NS/ for a whole
/// namespace) matches the source or the destination endpoint. Filters combine with AND.
/// </summary>
public sealed record FlowFilter(string? Verdict = null, string? PodNamespace = null, string? PodName = null)
{
    public static FlowFilter Create(string? verdict, string? pod)
    {
        string? ns = null, name = null;
        if (!string.IsNullOrEmpty(pod))
        {
            int slash = pod.IndexOf('/');
            if (slash < 0) { ns = "default"; name = pod; }
            else { ns = pod[..slash]; name = slash + 1 < pod.Length ? pod[(slash + 1)..] : null; }
        }
        return new FlowFilter(string.IsNullOrEmpty(verdict) ? null : verdict.ToUpperInvariant(), ns, name);
    }

    /// <summary>True when the flow (the <c>flow</c> object of a hubble JSON line) passes every filter.</summary>
    public bool Matches(JsonElement flow)
    {
        if (Verdict != null && (!flow.TryGetProperty("verdict", out var v) || v.GetString() != Verdict)) return false;
        if (PodNamespace != null && !IsPod(flow, "source") && !IsPod(flow, "destination")) return false;
        return true;
    }

    private bool IsPod(JsonElement flow, string side)
    {
        if (!flow.TryGetProperty(side, out var ep)) return false;
        if (!ep.TryGetProperty("namespace", out var ns) || ns.GetString() != PodNamespace) return false;
        if (PodName == null) return true;
        return ep.TryGetProperty("pod_name", out var name) && name.GetString() == PodName;
    }
}
