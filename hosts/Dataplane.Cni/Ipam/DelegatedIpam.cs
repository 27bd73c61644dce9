using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Cni.Cni;

namespace Dataplane.Cni.Ipam;

/// <summary>
/// An IPAM plugin named by <c>ipam.type</c> (host-local, static, dhcp …), run as the CNI spec's delegation
/// says: the executable of that name from CNI_PATH, with the same CNI_* environment and the same network
/// configuration on stdin; its result's <c>ips</c> and <c>routes</c> are what the pod gets, and DEL (and CHECK,
/// STATUS, GC) go to it as well. A delegate older than the configuration's version (Debian 12 ships
/// containernetworking-plugins 1.1.1, which stops at 1.0.0) is asked again in 1.0.0, whose result is the same.
/// </summary>
internal sealed class DelegatedIpam(string type, CniEnv env, string stdin, NetConf conf)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>ADD: the addresses and routes the delegate allocated.</summary>
    public (List<Allocation> Ips, List<PodRoute> Routes) Add()
    {
        var result = Run("ADD", env.ContainerId, env.IfName) ?? throw new CniException(CniCode.Other, $"IPAM plugin {type} printed no result");
        return ParseResult(result);
    }

    public void Del(string containerId, string ifName) => Run("DEL", containerId, ifName);

    public void Check() => Run("CHECK", env.ContainerId, env.IfName);

    /// <summary>STATUS and GC exist from 1.1.0: asked only of a delegate that speaks it.</summary>
    public bool Speaks11()
    {
        var v = Exec("VERSION", null, null, "{}");
        return v?["supportedVersions"] is JsonArray a && a.Any(x => x?.GetValueKind() == JsonValueKind.String && x.GetValue<string>() == "1.1.0");
    }

    public void Status() => Run("STATUS", null, null);

    public void Gc() => Run("GC", null, null);

    private JsonObject? Run(string command, string? containerId, string? ifName)
    {
        try { return Exec(command, containerId, ifName, stdin); }
        catch (CniException e) when (e.Code == CniCode.IncompatibleVersion && conf.IsAtLeast11)
        {
            var older = (JsonObject)conf.Raw.DeepClone();
            older["cniVersion"] = "1.0.0";
            return Exec(command, containerId, ifName, older.ToJsonString());
        }
    }

    private JsonObject? Exec(string command, string? containerId, string? ifName, string input)
    {
        string exe = Find();
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // The same environment the runtime gave us (not this process's, which a test or a runtime wrapper may differ from).
        foreach (var k in psi.Environment.Keys.Where(k => k.StartsWith("CNI_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(k);
        psi.Environment["CNI_COMMAND"] = command;
        psi.Environment["CNI_PATH"] = env.Path;
        if (containerId is not null) psi.Environment["CNI_CONTAINERID"] = containerId;
        if (ifName is not null) psi.Environment["CNI_IFNAME"] = ifName;
        if (env.Netns.Length > 0) psi.Environment["CNI_NETNS"] = env.Netns;
        if (env.Args.Count > 0) psi.Environment["CNI_ARGS"] = string.Join(';', env.Args.Select(kv => $"{kv.Key}={kv.Value}"));
        using var p = Process.Start(psi) ?? throw new CniException(CniCode.Other, $"cannot start IPAM plugin {exe}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try { p.StandardInput.Write(input); p.StandardInput.Close(); }
        catch (IOException) { /* it exited without reading: its answer says why */ }
        if (!p.WaitForExit(Timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new CniException(CniCode.TryAgainLater, $"IPAM plugin {type} {command} did not finish within {Timeout.TotalSeconds} s");
        }
        p.WaitForExit();
        string output = stdout.Result.Trim();
        JsonObject? answer = null;
        try { if (output.Length > 0) answer = JsonNode.Parse(output) as JsonObject; }
        catch (JsonException e) { throw new CniException(CniCode.Other, $"IPAM plugin {type} {command}: its output is not JSON", e.Message); }
        if (p.ExitCode != 0)
        {
            int code = answer?["code"] is JsonValue c && c.TryGetValue(out int n) ? n : CniCode.Other;
            string msg = answer?["msg"] is JsonValue m && m.TryGetValue(out string? ms) ? ms : stderr.Result.Trim();
            string? details = answer?["details"] is JsonValue d && d.TryGetValue(out string? ds) ? ds : null;
            throw new CniException(code, $"IPAM plugin {type} {command}: {msg}", details);
        }
        return answer;
    }

    private string Find()
    {
        foreach (var dir in env.Path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, type);
            if (File.Exists(candidate)) return candidate;
        }
        throw new CniException(CniCode.InvalidEnvironment, $"IPAM plugin '{type}' is not in CNI_PATH ({env.Path})");
    }

    /// <summary>The result's addresses (1.0.0/0.3.x "ips", 0.1/0.2 "ip4"/"ip6") and routes.</summary>
    internal static (List<Allocation>, List<PodRoute>) ParseResult(JsonObject result)
    {
        var ips = new List<Allocation>();
        var routes = new List<PodRoute>();
        try
        {
            if (result["ips"] is JsonArray list)
                foreach (var ip in list) ips.Add(ParseIp(ip!["address"]!.GetValue<string>(), ip["gateway"]?.GetValue<string>()));
            foreach (var key in new[] { "ip4", "ip6" })
                if (result[key] is JsonObject legacy)
                {
                    ips.Add(ParseIp(legacy["ip"]!.GetValue<string>(), legacy["gateway"]?.GetValue<string>()));
                    if (legacy["routes"] is JsonArray lr) routes.AddRange(lr.Select(ParseRoute));
                }
            if (result["routes"] is JsonArray rs) routes.AddRange(rs.Select(ParseRoute));
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new CniException(CniCode.Other, "the IPAM plugin's result is not a CNI result", e.Message);
        }
        if (ips.Count == 0) throw new CniException(CniCode.Other, "the IPAM plugin returned no address");
        return (ips, routes);
    }

    private static Allocation ParseIp(string cidr, string? gateway)
    {
        var slash = cidr.IndexOf('/');
        if (slash < 0) throw new FormatException($"'{cidr}' has no prefix length");
        var address = IPAddress.Parse(cidr[..slash]);
        var subnet = IPNetwork.Parse(cidr);   // masks the host bits away: the subnet the address is in
        return new Allocation(subnet, address, gateway is null ? null : IPAddress.Parse(gateway));
    }

    private static PodRoute ParseRoute(JsonNode? r) =>
        new(IPNetwork.Parse(r!["dst"]!.GetValue<string>()), r["gw"]?.GetValue<string>() is { } gw ? IPAddress.Parse(gw) : null);
}
