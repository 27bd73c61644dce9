using Dataplane.Host.Api;
using Dataplane.Node.Api;

namespace Dataplane.Linux.Tests.Support;

/// <summary>
/// Two clusters of one node each, meshed through two real etcds:
/// <code>
///   cluster c1 (id 1), etcd1                              cluster c2 (id 2), etcd2
///   client-a 198.18.110.10 ─┐                          ┌─ client-b 198.18.120.10
///   web-a    198.18.110.20 ─┼─ node-a │ underlay veth │ node-b ─┼─ web-b    198.18.120.20
///   db-a     198.18.110.30 ─┘  198.18.0.1  ── VXLAN ──  198.18.0.2 └─ web-b2   198.18.120.21 (pod, not always a backend)
/// </code>
/// Each node is `dataplane-node run --clustermesh` in its own namespace; nothing routes between the clusters but
/// the agents (the underlay carries only their VXLAN and their ARP: each resolves the other). Both etcds listen on the host's
/// loopback and are relayed into each node's namespace at the same port (<see cref="NetnsRelay"/>). Service
/// default/web (ClusterIP 198.18.130.10:80 → 5001) is global in both clusters with the given affinity. db-a
/// admits only pods of cluster c2 (CiliumNetworkPolicy). Unique names per run; Dispose kills and removes all.
/// </summary>
public sealed class MeshTopology : IAsyncDisposable
{
    public sealed record Pod(string Name, string Node, string Ip, string Mac, string App)
    {
        public string Ns { get; init; } = "";
    }

    public const string ServiceIp = "198.18.130.10";
    public const int ServicePort = 80, BackendPort = 5001;

    private readonly NetnsSet _set = new("dpm");
    private string _sfx => _set.Suffix;
    private readonly string _affinity;
    private readonly int _leaseTtl;
    private readonly bool _replicated;
    private readonly bool _overlapping;
    private readonly MeshUnderlay _underlay;
    private readonly Func<string, string>? _encryption;
    private readonly bool _flowFiles;
    private readonly string[] _agentEnv;

    public EtcdProcess Etcd1 { get; private set; } = null!;
    public EtcdProcess Etcd2 { get; private set; } = null!;
    /// <summary>With a replicated etcd2: its three members (Etcd2 is the first).</summary>
    public EtcdCluster? Etcd2Cluster { get; private set; }
    private IReadOnlyList<EtcdProcess> Etcd2Members => Etcd2Cluster?.Members ?? [Etcd2];
    public string Root { get; }
    public string NsA { get; }
    public string NsB { get; }
    public List<Pod> Pods { get; } = [];
    public Background? AgentA { get; private set; }
    public Background? AgentB { get; private set; }

    private MeshTopology(string affinity, int leaseTtl, bool replicated, bool overlapping, MeshUnderlay underlay, Func<string, string>? encryption, bool flowFiles, string[] agentEnv)
    {
        _encryption = encryption;
        _flowFiles = flowFiles;
        _agentEnv = agentEnv;
        _underlay = underlay;
        _replicated = replicated;
        _overlapping = overlapping;
        _affinity = affinity;
        _leaseTtl = leaseTtl;
        Root = _set.Dir("root");
        NsA = $"dpm-a-{_sfx}";
        NsB = $"dpm-b-{_sfx}";
    }

    /// <param name="replicatedEtcd2">Cluster c2's etcd is a 3-member cluster (both agents get all three endpoints).</param>
    /// <param name="overlapping">Both clusters use pod CIDR 198.18.110.0/24 and node-b's pods the same addresses as
    /// node-a's (client .10, web .20; web-b2 .21), with the mesh's <c>enableOverlappingPodCIDRSupport: true</c> and each
    /// cluster's pods reachable from the other under <see cref="TranslatedPrefix"/> (c1: 198.18.211.0/24, c2: 198.18.212.0/24).</param>
    /// <param name="underlay">How the nodes reach each other: VXLAN over IPv4 (the default), or an IPv6-only underlay
    /// (node addresses <see cref="UnderlayAddress"/> in 2001:db8:18::/64, no IPv4 address on it) carrying VXLAN or SRv6.</param>
    /// <param name="encryption">Per node: its DataplaneNode <c>spec.encryption</c> (flow YAML, e.g. <c>{enabled: true, type: wireguard}</c>), or "" for none.</param>
    /// <param name="flowFiles">Each agent writes every flow event to <see cref="FlowsFile"/> (hubble JSON lines).</param>
    /// <param name="agentEnv">NAME=VALUE pairs in both agents' environment.</param>
    public static async Task<MeshTopology> StartAsync(string affinity = "local", int leaseTtlSeconds = 10, bool replicatedEtcd2 = false,
        bool overlapping = false, MeshUnderlay underlay = MeshUnderlay.Vxlan4, Func<string, string>? encryption = null, bool flowFiles = false,
        string[]? agentEnv = null)
    {
        var t = new MeshTopology(affinity, leaseTtlSeconds, replicatedEtcd2, overlapping, underlay, encryption, flowFiles, agentEnv ?? []);
        try { await t.BuildAsync(); }
        catch { await t.DisposeAsync(); throw; }
        return t;
    }

    public Pod this[string name] => Pods.First(p => p.Name == name);
    public string ConfigDir(string node) => Path.Combine(Root, node);

    /// <summary>The node's underlay interface (in its namespace).</summary>
    public string UnderlayIf(string node) => (node == "node-a" ? "mua" : "mub") + _sfx;

    /// <summary>The node's InternalIP, the only address of its underlay interface.</summary>
    public string UnderlayAddress(string node) => (_underlay, node) switch
    {
        (MeshUnderlay.Vxlan4, "node-a") => "198.18.0.1",
        (MeshUnderlay.Vxlan4, _) => "198.18.0.2",
        (_, "node-a") => "2001:db8:18::1",
        _ => "2001:db8:18::2",
    };

    /// <summary>With SRv6: the node's End.DT46 SID (in its locator 2001:db8:a1::/48 or 2001:db8:b1::/48).</summary>
    public static string Srv6Sid(string node) => node == "node-a" ? "2001:db8:a1::46" : "2001:db8:b1::46";
    public string Socket(string node) => Path.Combine(Root, $"{node}.sock");
    /// <summary>The node agent's --state-dir.</summary>
    public string StateDir(string node) => Path.Combine(Root, $"{node}-state");
    /// <summary>The node agent's --flows-file (when started with flow files).</summary>
    public string FlowsFile(string node) => Path.Combine(Root, $"{node}-flows.jsonl");

    private async Task BuildAsync()
    {
        Etcd1 = await EtcdProcess.StartAsync();
        if (_replicated)
        {
            Etcd2Cluster = await EtcdCluster.StartAsync(3);
            Etcd2 = Etcd2Cluster.Members[0];
        }
        else Etcd2 = await EtcdProcess.StartAsync();
        foreach (var ns in new[] { NsA, NsB })
        {
            _set.AddNamed(ns);
            // The node namespaces' kernels must stay out of the forwarders' links (no IPv6 chatter, no addresses).
            NetnsSet.KernelStaysOff(ns);
            _set.Own(new NetnsRelay(ns, Etcd1.ClientPort));
            foreach (var m in Etcd2Members) _set.Own(new NetnsRelay(ns, m.ClientPort));
        }
        string ua = $"mua{_sfx}", ub = $"mub{_sfx}";
        _set.Veth(ua, NsA, ub, NsB);
        NetnsSet.Up(NsA, ua);
        NetnsSet.Up(NsB, ub);

        string b = _overlapping ? "198.18.110" : "198.18.120";
        Pods.AddRange([
            new Pod("client-a", "node-a", "198.18.110.10", "02:00:00:00:a1:01", "client"),
            new Pod("web-a", "node-a", "198.18.110.20", "02:00:00:00:a1:02", "web"),
            new Pod("db-a", "node-a", "198.18.110.30", "02:00:00:00:a1:03", "db"),
            new Pod("client-b", "node-b", $"{b}.10", "02:00:00:00:b1:01", "client"),
            new Pod("web-b", "node-b", $"{b}.20", "02:00:00:00:b1:02", "web"),
            new Pod("web-b2", "node-b", $"{b}.21", "02:00:00:00:b1:03", "web"),
        ]);
        for (int i = 0; i < Pods.Count; i++)
        {
            var p = Pods[i] = Pods[i] with { Ns = _set.Add(Pods[i].Name) };
            string lxc = PodTopology.LxcName("default", p.Name);
            _set.Veth(lxc, p.Node == "node-a" ? NsA : NsB, "eth0", p.Ns);
            Sh.Must("ip", "-n", p.Ns, "link", "set", "eth0", "address", p.Mac);
            Sh.Must("ip", "-n", p.Ns, "addr", "add", $"{p.Ip}/24", "dev", "eth0");
            NetnsSet.Up(p.Ns, "eth0");
            NetnsSet.Up(p.Node == "node-a" ? NsA : NsB, lxc);
            // Everything beyond the pod's /24 (the other cluster, the service IP) goes to the dataplane's router.
            Sh.Must("ip", "-n", p.Ns, "route", "add", "default", "via", p.Ip[..p.Ip.LastIndexOf('.')] + ".1");
        }

        string macA = NetnsSet.Mac(NsA, ua), macB = NetnsSet.Mac(NsB, ub);
        WriteNode("node-a", ua, macA, UnderlayAddress("node-a"), "198.18.110.0/24");
        WriteNode("node-b", ub, macB, UnderlayAddress("node-b"), $"{b}.0/24");
        WritePods("node-a", ["client-a", "web-a", "db-a"]);
        WritePods("node-b", ["client-b", "web-b", "web-b2"]);
        WriteService("node-a", "198.18.110.20", ready: true);
        WriteService("node-b", this["web-b"].Ip, ready: true);
        // db-a admits cluster c2's pods only (their identities and labels come from etcd2).
        File.WriteAllText(Path.Combine(ConfigDir("node-a"), "policy.yaml"), """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: db-from-c2, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.cluster: c2}}]
            """);
        WriteMesh("node-a", "c1", 1, [Etcd1], "c2", 2, Etcd2Members);
        WriteMesh("node-b", "c2", 2, Etcd2Members, "c1", 1, [Etcd1]);
        AgentA = StartAgent("node-a");
        AgentB = StartAgent("node-b");
    }

    private void WriteNode(string node, string itf, string mac, string ip, string podCidr)
    {
        Directory.CreateDirectory(ConfigDir(node));
        string prefix = _underlay == MeshUnderlay.Vxlan4 ? "24" : "64";
        // SRv6: this node's locator and End.DT46 SID; the mode is what the node publishes for other clusters to use.
        string overlay = _underlay != MeshUnderlay.Srv6 ? "" : $$"""

              overlay:
                mode: srv6
                locators: ["{{Srv6Sid(node)[..^2]}}/48"]
                sids: [{sid: "{{Srv6Sid(node)}}", behavior: End.DT46}]
            """;
        File.WriteAllText(Path.Combine(ConfigDir(node), "node.yaml"), $$"""
            apiVersion: v1
            kind: Node
            metadata: {name: {{node}}}
            spec: {podCIDRs: ["{{podCidr}}"]}
            status: {addresses: [{type: InternalIP, address: {{ip}}}]}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: {{node}}}
            spec:
              interfaces:
              - {name: {{itf}}, mac: "{{mac}}", addresses: ["{{ip}}/{{prefix}}"]}
            """ + overlay + (_encryption?.Invoke(node) is { Length: > 0 } enc ? $"\n  encryption: {enc}" : ""));
    }

    /// <summary>Writes the node's pods file with exactly these pods (a pod left out is gone from the config).</summary>
    public void WritePods(string node, string[] names)
    {
        var docs = new List<string>();
        foreach (var p in names.Select(n => this[n]))
            docs.Add($$"""
                apiVersion: v1
                kind: Pod
                metadata:
                  name: {{p.Name}}
                  namespace: default
                  labels: {app: {{p.App}}}
                  annotations: {dataplane.io/mac: "{{p.Mac}}"}
                spec: {nodeName: {{p.Node}}}
                status: {podIPs: [{ip: {{p.Ip}}}]}

                """);
        WriteAtomically(Path.Combine(ConfigDir(node), "pods.yaml"), string.Join("---\n", docs));
    }

    /// <summary>The global service default/web on <paramref name="node"/>'s cluster with one backend.</summary>
    public void WriteService(string node, string backend, bool ready) =>
        WriteAtomically(Path.Combine(ConfigDir(node), "service.yaml"), $$"""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              namespace: default
              annotations: {service.cilium.io/global: "true", service.cilium.io/affinity: "{{_affinity}}"}
            spec:
              clusterIP: {{ServiceIp}}
              ports: [{name: http, port: {{ServicePort}}, targetPort: {{BackendPort}}}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web} }
            addressType: IPv4
            ports: [{name: http, port: {{BackendPort}}}]
            endpoints:
            - {addresses: [{{backend}}], nodeName: {{node}}, conditions: {ready: {{(ready ? "true" : "false")}} } }
            """);

    private void WriteMesh(string node, string cluster, int id, IReadOnlyList<EtcdProcess> etcd, string remote, int remoteId,
        IReadOnlyList<EtcdProcess> remoteEtcd) =>
        File.WriteAllText(Path.Combine(Root, $"{node}-mesh.yaml"), $$"""
            apiVersion: dataplane.io/v1alpha1
            kind: ClusterMeshConfig
            metadata: {name: mesh}
            spec:
              cluster: {name: {{cluster}}, id: {{id}}}
              enableOverlappingPodCIDRSupport: {{(_overlapping ? "true" : "false")}}
              etcd: {endpoints: [{{Urls(etcd)}}], leaseTTLSeconds: {{_leaseTtl}}}
              remoteClusters:
              - {name: {{remote}}, id: {{remoteId}}, endpoints: [{{Urls(remoteEtcd)}}]{{(_overlapping ? $", translatedPodCIDRs: [{{podCIDR: 198.18.110.0/24, as: {TranslatedPrefix(remoteId)}}}]" : "")}}}
            """);

    /// <summary>With overlapping pod CIDRs: cluster <paramref name="id"/>'s pods as the other cluster reaches them (198.18.21id.0/24).</summary>
    public static string TranslatedPrefix(int id) => $"198.18.21{id}.0/24";

    /// <summary>Pod <paramref name="pod"/>'s address as the other cluster reaches it under the translated range.</summary>
    public string Translated(string pod) => $"198.18.21{(this[pod].Node == "node-a" ? 1 : 2)}.{this[pod].Ip[(this[pod].Ip.LastIndexOf('.') + 1)..]}";

    private static string Urls(IEnumerable<EtcdProcess> members) => string.Join(", ", members.Select(m => $"\"{m.Endpoint}\""));

    /// <summary>Rename into place: the agent's watcher never reads a half-written file.</summary>
    private static void WriteAtomically(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private Background StartAgent(string node)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        string[] flows = _flowFiles ? ["--flows-file", FlowsFile(node)] : [];
        string[] env = _agentEnv.Length > 0 ? ["env", .. _agentEnv] : [];
        return Start(node == "node-a" ? NsA : NsB, [.. env, "dotnet", dll, "run", "--config", ConfigDir(node), "--backend", "af_packet",
            "--ct-max", "4096", "--socket", Socket(node), "--state-dir", StateDir(node),
            "--clustermesh", Path.Combine(Root, $"{node}-mesh.yaml"), .. flows]);
    }

    /// <summary>The agent's status, or null while it does not answer.</summary>
    public AgentStatus? Status(string node) => AgentSocket.FetchStatus(Socket(node), TimeSpan.FromSeconds(5), out _, out _);

    /// <summary>Polls <paramref name="condition"/> on the node's status (bounded); the last status on failure.</summary>
    public void WaitStatus(string node, Func<AgentStatus, bool> condition, string what, double seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        AgentStatus? s = null;
        while (DateTime.UtcNow < until)
        {
            s = Status(node);
            if (s != null && condition(s)) return;
            Thread.Sleep(200);
        }
        Assert.Fail($"{node}: timed out after {seconds} s waiting for {what}; last status: " +
            (s is null ? "none" : System.Text.Json.JsonSerializer.Serialize(s.ClusterMesh)) + $"\nagent a:\n{AgentA?.Output}\nagent b:\n{AgentB?.Output}");
    }

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => _set.Exec(ns, timeout, cmd);

    public Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    public async ValueTask DisposeAsync()
    {
        _set.Dispose();
        if (Etcd1 != null) await Etcd1.DisposeAsync();
        if (Etcd2Cluster != null) await Etcd2Cluster.DisposeAsync();
        else if (Etcd2 != null) await Etcd2.DisposeAsync();
    }
}

/// <summary>The underlay between the two clusters' nodes and the overlay on it.</summary>
public enum MeshUnderlay
{
    /// <summary>IPv4 node addresses, VXLAN (the default).</summary>
    Vxlan4,
    /// <summary>IPv6-only node addresses, VXLAN in IPv6.</summary>
    Vxlan6,
    /// <summary>IPv6-only node addresses, SRv6 (H.Encaps to the other node's End.DT46 SID).</summary>
    Srv6,
}
