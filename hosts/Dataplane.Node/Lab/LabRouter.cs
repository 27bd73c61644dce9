namespace Dataplane.Node.Lab;

/// <summary>
/// The on-prem router of `lab --mesh`: BIRD (Debian's bird2) in the router namespace, started detached like the agents
/// (with --keep it outlives the lab; removing the lab kills it with its namespace), read with birdc.
/// </summary>
public sealed class LabRouter(LabMeshNetwork mesh, string workDir)
{
    private readonly string _dir = Path.Combine(workDir, "router");

    private string Socket => Path.Combine(_dir, "bird.ctl");
    public string LogFile => Path.Combine(_dir, "bird.log");

    /// <summary>The command that asks this router, for the user (printed with --keep).</summary>
    public string BirdcCommand => $"ip netns exec {mesh.RouterNetns} birdc -s {Socket}";

    public void Start()
    {
        Directory.CreateDirectory(_dir);
        string config = Path.Combine(_dir, "bird.conf");
        File.WriteAllText(config, LabMeshConfig.Bird(LogFile));
        LabAgent.Detached(mesh.RouterNetns, string.Join(' ', new[] { "bird", "-f", "-c", config, "-s", Socket, "-P", Path.Combine(_dir, "bird.pid") }
            .Select(LabAgent.Quote)), Path.Combine(_dir, "bird.out"));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!Birdc("show", "status").Ok)
        {
            if (DateTime.UtcNow > until)
                throw new LabException($"BIRD did not start in {mesh.RouterNetns}: {Read(Path.Combine(_dir, "bird.out"))}{Read(LogFile)}");
            Thread.Sleep(200);
        }
    }

    public Shell.Result Birdc(params string[] args) => Shell.Run(TimeSpan.FromSeconds(10), "ip", ["netns", "exec", mesh.RouterNetns, "birdc", "-s", Socket, .. args]);

    /// <summary>BIRD's route for <paramref name="address"/> learned from the gateway, on one line; null when it has none.</summary>
    public string? RouteFromGateway(string address)
    {
        var r = Birdc("show", "route", "for", address, "protocol", "meshgw");
        var lines = r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .SkipWhile(l => !l.StartsWith(address, StringComparison.Ordinal)).Take(2).ToList();
        return r.Ok && lines.Count > 0 ? string.Join(' ', lines.Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))) : null;
    }

    private static string Read(string file) => File.Exists(file) ? File.ReadAllText(file) : "";
}
