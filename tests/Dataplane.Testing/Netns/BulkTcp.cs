using System.Text.RegularExpressions;
using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Netns;

/// <summary>Bulk TCP through a <see cref="NetnsTopology"/>, checked end to end by SHA-256 (echo.py bulk-*).</summary>
public static partial class BulkTcp
{
    public const int Bytes = 8 << 20;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);
    private static readonly string Echo = Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");

    /// <summary>8 MiB of random bytes client → server over IPv4 and over IPv6; the server's SHA-256 must equal the client's.</summary>
    public static void BothFamilies(NetnsTopology topo, string context)
    {
        var server = topo.Start(topo.ServerNs, "python3", Echo, "bulk-server", "5003");
        Assert.True(server.WaitFor("listening", TimeSpan.FromSeconds(20)), server.Output);
        foreach (var ip in new[] { NetnsTopology.ServerIp4, NetnsTopology.ServerIp6 })
        {
            var r = topo.Exec(topo.ClientNs, Long, "python3", Echo, "bulk-client", ip, "5003", Bytes.ToString());
            var sent = SentRegex().Match(r.Output);
            var got = GotRegex().Match(r.Output);
            Assert.True(r.Ok && sent.Success && got.Success, $"bulk TCP via {ip}: {r.Output}\n{context}");
            Assert.Equal(Bytes.ToString(), got.Groups[1].Value);
            Assert.Equal(sent.Groups[1].Value, got.Groups[2].Value);
        }
    }

    [GeneratedRegex(@"sent \d+ ([0-9a-f]{64})")]
    private static partial Regex SentRegex();

    [GeneratedRegex(@"got (\d+) ([0-9a-f]{64})")]
    private static partial Regex GotRegex();
}
