using System.Globalization;
using System.Text.RegularExpressions;
using Dataplane.Testing.Netns;
using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Assertions;

/// <summary>
/// Reads ping's summary line ("N packets transmitted, M received") instead of matching it as text. Run ping with
/// -c and without -w: it then sends exactly -c requests, waits (-W) for the last replies, and "no packet lost"
/// is exactly received == transmitted. (With -w, ping keeps sending until it has -c replies, so under load it
/// sends one more while replies are in flight, and the text of the line changes without anything being lost.)
/// </summary>
public static partial class PingAssert
{
    [GeneratedRegex(@"(\d+) packets transmitted, (\d+) (?:packets )?received")]
    private static partial Regex Summary();

    /// <summary>Asserts ping sent <paramref name="sent"/> requests and every one was answered.</summary>
    public static void EveryRequestAnswered(string pingOutput, int sent)
    {
        var m = Summary().Match(pingOutput);
        Assert.True(m.Success, "no ping summary in:\n" + pingOutput);
        int transmitted = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int received = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.True(transmitted == sent && received == transmitted,
            $"ping: {transmitted} transmitted (asked for {sent}), {received} received — every request must be answered:\n{pingOutput}");
    }

    /// <summary>
    /// Three echoes from <paramref name="ns"/> to <paramref name="ip"/> all answered, within a few bounded tries: the
    /// first echo may race the client's own neighbour resolution, which is not what the caller tests.
    /// </summary>
    public static void Reaches(NetnsExec exec, string ns, string ip, int tries = 4)
    {
        Sh.Result r = default!;
        for (int i = 0; i < tries; i++)
        {
            r = exec(ns, TimeSpan.FromSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "2", ip);
            if (r.Ok && r.Output.Contains(" 0% packet loss")) return;
        }
        Assert.Fail($"ping {ip} from {ns}: {r.Output}");
    }
}
