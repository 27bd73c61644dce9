using System.Globalization;

namespace Dataplane.Node.Lab;

/// <summary>Reads a node agent's Prometheus endpoint (text format) into "name{labels}" → value.</summary>
public static class MetricsScrape
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

    public static Dictionary<string, double> Fetch(string url)
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        string text;
        try { text = Http.GetStringAsync(url).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return d; }
        return Parse(text);
    }

    public static Dictionary<string, double> Parse(string text)
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            int sp = line.LastIndexOf(' ');
            if (sp > 0 && double.TryParse(line[(sp + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                d[line[..sp]] = v;
        }
        return d;
    }

    /// <summary>Sum of every series of <paramref name="metric"/> (all label combinations).</summary>
    public static double Sum(Dictionary<string, double> m, string metric) =>
        m.Where(kv => kv.Key == metric || kv.Key.StartsWith(metric + "{", StringComparison.Ordinal)).Sum(kv => kv.Value);
}
