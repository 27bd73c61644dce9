using System.Diagnostics;
using System.Security.Cryptography;

namespace Dataplane.Node.Lab;

/// <summary>
/// `dataplane-node lab`: builds two nodes with pods in network namespaces, runs our agent on each (VXLAN
/// overlay between them, a ClusterIP service, an allow and a deny policy), sends real traffic, shows the
/// verdicts and counters as it goes, summarises what was allowed and what was dropped and why, and removes
/// everything (unless --keep). Exit code 0 when every step met Cilium's semantics, 1 otherwise, 2 when the lab
/// could not be built. With --mesh it adds the transit gateway (dataplane-gateway) on the underlay, BIRD as the
/// on-prem router behind it and a VM behind the router, and the steps of <see cref="LabSteps.Mesh"/>.
/// </summary>
public static class LabRunner
{
    public static int Run(bool keep, TextWriter o) => Run(keep, mesh: false, o);

    public static int Run(bool keep, bool mesh, TextWriter o)
    {
        if (Environment.UserName != "root" && !IsRoot())
        {
            o.WriteLine("lab: needs root (network namespaces): run it with sudo");
            return 2;
        }
        foreach (var tool in new[] { "ip", "ping", "setsid" })
            if (!Shell.Has(tool)) { o.WriteLine($"lab: '{tool}' is missing (Debian: apt-get install iproute2 iputils-ping util-linux)"); return 2; }
        string[] gatewayProgram = [];
        if (mesh)
        {
            foreach (var tool in new[] { "bird", "birdc" })
                if (!Shell.Has(tool)) { o.WriteLine($"lab --mesh: '{tool}' is missing: BIRD is the on-prem router (Debian: apt-get install bird2; `./dev lab --mesh` installs it)"); return 2; }
            try { gatewayProgram = LabAgent.GatewayProgram(); }
            catch (LabException e) { o.WriteLine($"lab: {e.Message}"); return 2; }
        }

        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
        string work = Path.Combine(Path.GetTempPath(), $"dataplane-lab-{id}");
        var topo = new LabTopology(id, mesh);
        var agents = topo.Nodes.Select(n => new LabAgent(n, work)).ToList();
        var router = topo.Mesh is { } m ? new LabRouter(m, work) : null;
        if (topo.Mesh is not null) agents.Add(new LabAgent(LabMeshNetwork.GatewayName, topo.Mesh.GatewayNetns, work, gatewayProgram, gateway: true));
        var steps = router is null ? LabSteps.All : [.. LabSteps.All, .. LabSteps.Mesh(router)];
        var clock = Stopwatch.StartNew();
        o.WriteLine($"lab {id}: 2 nodes, 4 pods (shop/web, shop/scanner on lab-node-1; shop/api-1, shop/api-2 on lab-node-2), VXLAN between the nodes");
        o.WriteLine($"lab {id}: ClusterIP shop/api {LabConfig.ServiceIp}:{LabConfig.ServicePort} → :{LabConfig.TargetPort}; policies api-allow-web (allow web → api TCP 8080), api-deny-scanner (deny scanner → api)");
        if (mesh)
            o.WriteLine($"lab {id}: mesh: dataplane-gateway {LabMeshNetwork.GatewayName} on the underlay ({LabMeshNetwork.GatewayMeshIp}), BIRD router (AS {LabMeshConfig.RouterAs}) on its on-prem side, "
                + $"VM shop/{LabMeshNetwork.VmName} {LabMeshNetwork.VmIp} (app=billing) behind the router; portal service shop/api-portal VIP {LabMeshNetwork.Vip} (:80 → 8080, :{LabMeshConfig.DeniedPort}) "
                + "announced by BGP; policy api-allow-billing (allow app=billing → api TCP 8080)");
        var servers = new List<TcpServer>();
        int exit = 1;
        try
        {
            Progress(o, clock, "building namespaces, veths and the underlay");
            topo.Build();
            for (int i = 0; i < topo.Nodes.Count; i++) LabConfig.Write(topo, topo.Nodes[i], agents[i].ConfigDir);
            if (router is not null)
            {
                LabMeshConfig.WriteGateway(topo, agents[^1].ConfigDir);
                Progress(o, clock, "starting BIRD, the on-prem router");
                router.Start();
            }
            Progress(o, clock, mesh ? "starting one dataplane agent per node and the gateway (AF_PACKET)" : "starting one dataplane agent per node (AF_PACKET)");
            foreach (var a in agents) a.Start();
            foreach (var a in agents) a.WaitReady(TimeSpan.FromSeconds(60));
            foreach (var p in topo.Pods.Where(p => p.App == "api")) servers.Add(new TcpServer(p.Netns, LabConfig.TargetPort, p.Name));
            if (topo.Mesh is { } onPrem)
            {
                // The denied port has a listener too: what stops the VM there is policy, not a closed port.
                foreach (var p in topo.Pods.Where(p => p.App == "api")) servers.Add(new TcpServer(p.Netns, LabMeshConfig.DeniedPort, p.Name));
                servers.Add(new TcpServer(onPrem.VmNetns, LabConfig.TargetPort, LabMeshNetwork.VmName));
            }

            int ok = 0, n = steps.Count;
            for (int i = 0; i < n; i++)
            {
                var step = steps[i];
                Progress(o, clock, $"step {i + 1}/{n}: {step.Title}");
                var result = step.Run(topo);
                bool met = result.GotThrough == (step.Expect == Expect.Allowed);
                if (met) ok++;
                o.WriteLine($"    {(met ? "ok  " : "FAIL")} {(result.GotThrough ? "got through" : "blocked")} (expected {step.Expect.ToString().ToLowerInvariant()}): {result.Detail}");
                Table(o, agents);
            }
            Thread.Sleep(300); // let the agents' exporters write the last flow events
            Summary(o, topo, agents);
            o.WriteLine($"lab {id}: {ok}/{n} steps behaved as Cilium specifies, in {clock.Elapsed.TotalSeconds:0.0} s");
            exit = ok == n ? 0 : 1;
        }
        catch (LabException e)
        {
            o.WriteLine($"lab: {e.Message}");
            exit = 2;
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
            if (keep && exit != 2)
            {
                o.WriteLine($"lab {id}: kept running. Explore, e.g.:");
                o.WriteLine($"  ip netns exec {topo.Pod("web").Netns} ping {topo.Pod("api-1").Ip}");
                o.WriteLine($"  {string.Join(' ', LabAgent.Self())} status --socket {agents[1].SocketPath}");
                o.WriteLine($"  {string.Join(' ', LabAgent.Self())} observe --input-file {agents[1].FlowsFile} --verdict DROPPED --follow");
                o.WriteLine($"  policies and services: {agents[0].ConfigDir} (edit: the agent reloads)");
                if (router is not null)
                {
                    o.WriteLine($"  {router.BirdcCommand} show route");
                    o.WriteLine($"  ip netns exec {topo.Mesh!.VmNetns} ping {topo.Pod("web").Ip}");
                }
                o.WriteLine($"  remove it: {string.Join(' ', LabAgent.Self())} lab --destroy {id}");
            }
            else
            {
                Progress(o, clock, "removing namespaces and agents");
                LabTopology.Destroy(id);
                try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        o.Flush();
        return exit;
    }

    private static bool IsRoot() => File.ReadAllText("/proc/self/status").Split('\n')
        .FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) == "0";

    private static void Progress(TextWriter o, Stopwatch clock, string what)
    {
        o.WriteLine($"[{clock.Elapsed.TotalSeconds,5:0.0}s] {what}");
        o.Flush();
    }

    /// <summary>Per node: packets in, forwarded by direction, drops by Cilium reason and direction (from its metrics).</summary>
    private static void Table(TextWriter o, IReadOnlyList<LabAgent> agents)
    {
        // "routed": forwarded between links with no local endpoint on either side (the gateway's traffic).
        bool routed = agents.Any(a => a.Name == LabMeshNetwork.GatewayName);
        o.WriteLine($"      {"node",-11} {"rx",7} {"fwd egress",10} {"fwd ingress",11}{(routed ? $" {"routed",7}" : "")} {"dropped",7}  drops (reason, direction)");
        foreach (var a in agents)
        {
            var m = a.Metrics();
            double Get(string k) => m.GetValueOrDefault(k);
            var drops = m.Where(kv => kv.Key.StartsWith("cilium_drop_count_total{", StringComparison.Ordinal))
                .Select(kv => $"{Label(kv.Key, "reason")}/{Label(kv.Key, "direction")}: {kv.Value:0}");
            o.WriteLine($"      {a.Name,-11} {Get("dataplane_rx_packets_total"),7:0} {Get("cilium_forward_count_total{direction=\"EGRESS\"}"),10:0} " +
                $"{Get("cilium_forward_count_total{direction=\"INGRESS\"}"),11:0}{(routed ? $" {Get("cilium_forward_count_total{direction=\"UNKNOWN\"}"),7:0}" : "")} " +
                $"{MetricsScrape.Sum(m, "cilium_drop_count_total"),7:0}  {string.Join("; ", drops)}");
        }
        o.Flush();
    }

    private static string Label(string series, string name)
    {
        int i = series.IndexOf(name + "=\"", StringComparison.Ordinal);
        if (i < 0) return "";
        i += name.Length + 2;
        return series[i..series.IndexOf('"', i)];
    }

    /// <summary>What was allowed and what was dropped and why, from both agents' flow events.</summary>
    private static void Summary(TextWriter o, LabTopology t, IReadOnlyList<LabAgent> agents)
    {
        var flows = new LabFlowSummary(t);
        foreach (var a in agents) flows.Add(a.Name, a.FlowsFile);
        o.WriteLine("summary (from the agents' flow events; hubble observe -o json lines in each node's flows.jsonl):");
        foreach (var line in flows.Lines()) o.WriteLine("  " + line);
    }
}
