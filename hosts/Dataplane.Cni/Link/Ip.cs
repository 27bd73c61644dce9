using System.Diagnostics;
using Dataplane.Cni.Cni;

namespace Dataplane.Cni.Link;

/// <summary>
/// Runs iproute2, in the plugin's network namespace or — through nsenter — in the container's.
/// Every call is bounded in time; a failure becomes a CNI error carrying the command's own message.
/// </summary>
internal static class Ip
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public sealed record Result(int Code, string Out, string Err)
    {
        public bool Ok => Code == 0;
    }

    public static Result Try(string? netns, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(netns is null ? file : "nsenter")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (netns is not null)
        {
            psi.ArgumentList.Add($"--net={netns}");
            psi.ArgumentList.Add(file);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi) ?? throw new CniException(CniCode.Other, $"cannot start {psi.FileName}"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CniException(CniCode.Other, $"cannot run {psi.FileName} (iproute2 and util-linux are required)", e.Message);
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(Timeout))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new CniException(CniCode.TryAgainLater, $"{file} {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds} s");
            }
            p.WaitForExit();
            return new Result(p.ExitCode, stdout.Result, stderr.Result.Trim());
        }
    }

    /// <summary>`ip ARGS` (in <paramref name="netns"/> when given); throws on failure.</summary>
    public static string Must(string? netns, params string[] args)
    {
        var r = Try(netns, "ip", args);
        if (!r.Ok) throw new CniException(CniCode.Other, $"ip {string.Join(' ', args)} failed{(netns is null ? "" : $" in {netns}")}", r.Err);
        return r.Out;
    }

    public static bool LinkExists(string? netns, string name) => Try(netns, "ip", "link", "show", "dev", name).Ok;

    /// <summary>The MAC of <paramref name="name"/>, from `ip -j link show`.</summary>
    public static string MacOf(string? netns, string name)
    {
        var json = Must(netns, "-j", "link", "show", "dev", name);
        var arr = System.Text.Json.Nodes.JsonNode.Parse(json) as System.Text.Json.Nodes.JsonArray;
        return arr?[0]?["address"]?.GetValue<string>() ?? throw new CniException(CniCode.Other, $"no MAC for {name}");
    }
}
