using System.Net;

namespace Dataplane.Node.Lab;

/// <summary>What a lab step expects of the dataplane.</summary>
public enum Expect { Allowed, Dropped }

/// <summary>One piece of traffic the lab sends, with what Cilium's semantics say must happen to it.</summary>
public sealed record LabStep(string Title, string From, Expect Expect, Func<LabTopology, StepResult> Run);

/// <summary>What came of a step: whether traffic got through, and a detail line (which backends answered …).</summary>
public sealed record StepResult(bool GotThrough, string Detail);

/// <summary>The lab's traffic: TCP to a pod across the overlay, TCP to the ClusterIP, and two flows policy must stop (with --mesh: <see cref="Mesh"/>).</summary>
public static class LabSteps
{
    public static IReadOnlyList<LabStep> All { get; } =
    [
        new("web → api-1 pod IP, TCP 8080 (across the VXLAN overlay; allowed by api-allow-web)", "web", Expect.Allowed,
            t => Tcp(t, "web", t.Pod("api-1").Ip, LabConfig.TargetPort, 3)),
        new($"web → ClusterIP {LabConfig.ServiceIp}:{LabConfig.ServicePort}, 20 TCP connections (Maglev DNAT to both backends, reverse NAT of replies)", "web", Expect.Allowed,
            t => Tcp(t, "web", IPAddress.Parse(LabConfig.ServiceIp), LabConfig.ServicePort, 20)),
        new("web → api-2 ping (ICMP is not in the allowed ports: POLICY_DENIED)", "web", Expect.Dropped,
            t => Ping(t, "web", t.Pod("api-2").Ip)),
        new($"scanner → ClusterIP {LabConfig.ServiceIp}:{LabConfig.ServicePort} (api-deny-scanner: POLICY_DENY)", "scanner", Expect.Dropped,
            t => Tcp(t, "scanner", IPAddress.Parse(LabConfig.ServiceIp), LabConfig.ServicePort, 3)),
        new("scanner → web ping (same node, no policy selects web: allowed)", "scanner", Expect.Allowed,
            t => Ping(t, "scanner", t.Pod("web").Ip)),
    ];

    /// <summary>
    /// The steps `lab --mesh` adds: the on-prem VM reaches the api pods through the portal VIP its router learned from
    /// the gateway by BGP, on the port api-allow-billing (the VM's labels) allows and not on another; a pod reaches the VM.
    /// </summary>
    public static IReadOnlyList<LabStep> Mesh(LabRouter router) =>
    [
        new($"on-prem VM {LabMeshNetwork.VmIp} → portal VIP {LabMeshNetwork.Vip}:80, 10 TCP connections (BIRD learned the VIP from the gateway by BGP; Maglev over both api pods; allowed by api-allow-billing)",
            LabMeshNetwork.VmName, Expect.Allowed, t => ThroughVip(t, router, 80, 10)),
        new($"on-prem VM → portal VIP {LabMeshNetwork.Vip}:{LabMeshConfig.DeniedPort} (api-allow-billing allows the VM's label on 8080 only: POLICY_DENIED)",
            LabMeshNetwork.VmName, Expect.Dropped, t => ThroughVip(t, router, LabMeshConfig.DeniedPort, 3)),
        new($"web → on-prem VM {LabMeshNetwork.VmIp}:{LabConfig.TargetPort} (nodes route {LabMeshNetwork.VmSubnet} to the gateway over VXLAN; it routes by the route BIRD gave it)",
            "web", Expect.Allowed, t => Tcp(t.Pod("web").Netns, LabMeshNetwork.VmIp, LabConfig.TargetPort, 3)),
    ];

    /// <summary>Waits (bounded) for BIRD's route to the VIP, then connects from the VM to it.</summary>
    private static StepResult ThroughVip(LabTopology t, LabRouter router, int port, int connections)
    {
        string? route = null;
        for (var until = DateTime.UtcNow + TimeSpan.FromSeconds(45); DateTime.UtcNow < until && (route = router.RouteFromGateway(LabMeshNetwork.Vip)) is null;)
            Thread.Sleep(500);
        if (route is null) return new StepResult(false, $"BIRD has no route to {LabMeshNetwork.Vip} from the gateway (birdc show route)");
        var r = Tcp(t.Mesh!.VmNetns, IPAddress.Parse(LabMeshNetwork.Vip), port, connections);
        return r with { Detail = $"{r.Detail}; birdc: {route}" };
    }

    private static StepResult Tcp(LabTopology t, string from, IPAddress to, int port, int connections) => Tcp(t.Pod(from).Netns, to, port, connections);

    private static StepResult Tcp(string netns, IPAddress to, int port, int connections)
    {
        var answers = new Dictionary<string, int>();
        int failed = 0;
        for (int i = 0; i < connections; i++)
        {
            string? who = TcpClientProbe.Ask(netns, to, port, TimeSpan.FromSeconds(i == 0 ? 4 : 2));
            if (who is null) { failed++; if (failed >= 3 && answers.Count == 0) break; continue; }
            answers[who] = answers.GetValueOrDefault(who) + 1;
        }
        if (answers.Count == 0) return new StepResult(false, $"no connection completed ({failed} attempts)");
        string served = string.Join(", ", answers.OrderBy(a => a.Key).Select(a => $"{a.Key} ×{a.Value}"));
        return new StepResult(true, $"answered by {served}{(failed > 0 ? $"; {failed} failed" : "")}");
    }

    private static StepResult Ping(LabTopology t, string from, IPAddress to)
    {
        var r = Shell.Run(TimeSpan.FromSeconds(10), "ip", "netns", "exec", t.Pod(from).Netns, "ping", "-c", "3", "-i", "0.2", "-W", "1", to.ToString());
        var summary = r.Output.Split('\n').FirstOrDefault(l => l.Contains("packets transmitted", StringComparison.Ordinal))?.Trim() ?? r.Output.Trim();
        return new StepResult(r.Ok, summary);
    }
}
