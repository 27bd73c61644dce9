using System.Globalization;
using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Peers;

/// <summary>
/// nfdump's collector (Debian `nfdump`): nfcapd listening on UDP in a namespace (or on the host's loopback), writing
/// what it receives to its own directory. nfcapd keeps the flows in <c>nfcapd.current.PID</c> and writes them out when
/// the file rotates (<c>-t</c>, here an hour: never during a test) or when it stops: <see cref="Stop"/> first waits until
/// nothing is left unread in its socket, then SIGTERMs it, so the renamed <c>nfcapd.YYYYMMDDhhmm</c> holds everything
/// that was sent. <see cref="Flows"/> then reads it back with <c>nfdump -r FILE -o csv</c>.
/// </summary>
public sealed class Nfcapd : IDisposable
{
    private readonly Background _process;
    private readonly string? _ns;
    private readonly TempDir _dir = new("dpt-nfcapd-");

    public Nfcapd(string? ns, string bindAddress, int port)
    {
        _ns = ns;
        Port = port;
        string[] cmd = ["nfcapd", "-w", _dir.Path, "-b", bindAddress, "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "3600", "-I", "dpt",
            .. bindAddress.Contains(':') ? ["-6"] : Array.Empty<string>()];
        _process = ns is null ? new Background(cmd[0], cmd[1..]) : new Background("ip", ["netns", "exec", ns, .. cmd]);
        if (!_process.WaitFor("Startup nfcapd", TimeSpan.FromSeconds(20)))
        {
            Dispose();
            throw new InvalidOperationException("nfcapd did not start: " + _process.Output);
        }
    }

    public int Port { get; }

    public string Output => _process.Output;

    /// <summary>Bytes waiting in nfcapd's socket (Recv-Q of `ss`), or -1 when the socket is not found.</summary>
    private long Unread()
    {
        string[] ss = ["ss", "-Hnul", $"sport = :{Port}"];
        var r = _ns is null ? Sh.Run(TimeSpan.FromSeconds(10), ss[0], ss[1..]) : Sh.Run(TimeSpan.FromSeconds(10), "ip", ["netns", "exec", _ns, .. ss]);
        var fields = r.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return r.Ok && fields.Length > 2 && long.TryParse(fields[1], CultureInfo.InvariantCulture, out long q) ? q : -1;
    }

    /// <summary>Waits (bounded) until nfcapd read every datagram, then stops it so it writes its file. False when it had to be killed.</summary>
    public bool Stop()
    {
        for (int i = 0; i < 100 && Unread() > 0; i++) Thread.Sleep(100);
        return _process.Stop(TimeSpan.FromSeconds(20));
    }

    /// <summary>Every flow record nfcapd stored (call after <see cref="Stop"/>).</summary>
    public List<NfdumpFlow> Flows()
    {
        var flows = new List<NfdumpFlow>();
        foreach (string file in Directory.GetFiles(_dir.Path, "nfcapd.*").Order())
        {
            var r = Sh.Run(TimeSpan.FromSeconds(30), "nfdump", "-r", file, "-o", "csv");
            if (!r.Ok) throw new InvalidOperationException($"nfdump -r {file}: {r.Output}");
            flows.AddRange(NfdumpFlow.ParseCsv(r.Stdout));
        }
        return flows;
    }

    public void Dispose()
    {
        _process.Dispose();
        _dir.Dispose();
    }
}

/// <summary>One flow as `nfdump -o csv` prints it: addresses, ports (ICMP: 0 and type.code), protocol number, input packets and bytes, start and end.</summary>
public sealed record NfdumpFlow(string Src, string Dst, int SrcPort, string DstPort, int Proto, long Packets, long Bytes, DateTime Start, DateTime End, string Raw)
{
    /// <summary>
    /// Reads the records by the header's column names (ts, te, sa, da, sp, dp, pr, ipkt, ibyt), so a column nfdump adds
    /// or moves cannot shift them; the summary after the records has other columns and is left out.
    /// </summary>
    public static IEnumerable<NfdumpFlow> ParseCsv(string csv)
    {
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int header = Array.FindIndex(lines, l => l.StartsWith("ts,", StringComparison.Ordinal));
        if (header < 0) yield break;
        var names = lines[header].Split(',');
        int Col(string n) => Array.IndexOf(names, n) is >= 0 and var i ? i : throw new FormatException($"nfdump csv has no column '{n}': {lines[header]}");
        int ts = Col("ts"), te = Col("te"), sa = Col("sa"), da = Col("da"), sp = Col("sp"), dp = Col("dp"), pr = Col("pr"), ipkt = Col("ipkt"), ibyt = Col("ibyt");
        foreach (var line in lines.Skip(header + 1))
        {
            var f = line.Split(',');
            if (f.Length != names.Length) continue;
            // pr is numeric in csv output (nfdump prints names only in its text formats), or a name in older versions.
            int proto = int.TryParse(f[pr], CultureInfo.InvariantCulture, out int p) ? p
                : f[pr].Trim().ToUpperInvariant() switch { "ICMP" => 1, "TCP" => 6, "UDP" => 17, "ICMP6" => 58, _ => -1 };
            yield return new NfdumpFlow(f[sa].Trim(), f[da].Trim(), (int)double.Parse(f[sp], CultureInfo.InvariantCulture), f[dp].Trim(), proto,
                long.Parse(f[ipkt], CultureInfo.InvariantCulture), long.Parse(f[ibyt], CultureInfo.InvariantCulture),
                DateTime.Parse(f[ts], CultureInfo.InvariantCulture), DateTime.Parse(f[te], CultureInfo.InvariantCulture), line);
        }
    }
}
