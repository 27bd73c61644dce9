using System.Globalization;

namespace Dataplane.Linux.Tests.Support;

/// <summary>
/// What an on-prem client sees of a service while gateways come and go: short TCP connections, one every
/// <see cref="Interval"/> (each: connect, send, read the backend's name; 3 s timeout for each step, so a lost SYN is
/// retransmitted once), each printed as <c>START ok SECONDS NAME</c> or <c>START fail SECONDS WHY</c>, until a stop file
/// appears or <c>count</c> attempts were made (bounded).
/// Every connection gets a fresh source port, so the router's L4 ECMP hash spreads them over the gateways.
/// </summary>
internal sealed class ClientStream
{
    public const double Interval = 0.1;

    private const string Script = """
        import os, socket, sys, time
        vip, port, count, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        for i in range(count):
            if os.path.exists(stop): break
            t0 = time.time()
            try:
                s = socket.create_connection((vip, port), timeout=3.0)
                s.sendall(b'hello'); name = s.recv(64).decode().strip(); s.close()
                print('%.3f ok %.3f %s' % (t0, time.time() - t0, name or '-'), flush=True)
            except Exception as e:
                print('%.3f fail %.3f %s' % (t0, time.time() - t0, type(e).__name__), flush=True)
            time.sleep(max(0.0, INTERVAL - (time.time() - t0)))
        print('done', flush=True)
        """;

    private readonly Background _process;
    private readonly string _stopFile;

    public ClientStream(NetnsSet set, string ns, string vip, int port, string stopFile, int count = 3000)
    {
        _stopFile = stopFile;
        _process = set.Start(ns, Sh.Python, "-u", "-c", Script.Replace("INTERVAL", Interval.ToString(CultureInfo.InvariantCulture)),
            vip, port.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture), stopFile);
    }

    public string Output => _process.Output;

    /// <summary>Every attempt so far: its start (Unix seconds), whether it was answered, and how long it took.</summary>
    public List<(double At, bool Ok, double Took)> Attempts() => [.. Output.Split('\n')
        .Select(l => l.Trim().Split(' '))
        .Where(f => f.Length >= 3 && (f[1] == "ok" || f[1] == "fail"))
        .Select(f => (double.Parse(f[0], CultureInfo.InvariantCulture), f[1] == "ok", double.Parse(f[2], CultureInfo.InvariantCulture)))];

    /// <summary>Answered attempts that started after <paramref name="since"/> (Unix seconds).</summary>
    public int AnsweredAfter(double since) => Attempts().Count(a => a.Ok && a.At > since);

    /// <summary>Creates the stop file and waits (bounded) for the client to finish.</summary>
    public void Stop()
    {
        File.WriteAllText(_stopFile, "");
        _process.WaitFor("done", TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// What the client saw of an event at <paramref name="since"/> (Unix seconds): attempts that failed, attempts that
    /// were answered but late (over <paramref name="late"/> seconds: a SYN lost and retransmitted), and the outage —
    /// from the start of the first failed or late attempt to the end of the last one (0 when there was none).
    /// </summary>
    public (int Failed, int Late, double Seconds) OutageAfter(double since, double late = 0.5)
    {
        var hurt = Attempts().Where(a => a.At >= since && (!a.Ok || a.Took > late)).ToList();
        if (hurt.Count == 0) return (0, 0, 0);
        return (hurt.Count(a => !a.Ok), hurt.Count(a => a.Ok), hurt.Max(a => a.At + a.Took) - hurt[0].At);
    }

    public static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}
