using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Netns;

/// <summary>
/// client — dataplane — server in three network namespaces joined by two veth pairs, with names unique to this
/// run. The dataplane namespace's veths carry no addresses (the forwarder owns them, the kernel stays out);
/// client and server use the dataplane's addresses as their gateway. Addresses only from 198.18.0.0/15 and
/// 2001:db8::/32. Offloads are off so frames on the wire are complete (checksums, no GSO super-frames), unless
/// the topology is built with <c>defaultOffloads</c>: then nothing touches the veths' offload settings.
/// Dispose kills every process left in the namespaces and deletes them, which removes the veths.
/// </summary>
public sealed class NetnsTopology : IDisposable
{
    public const string ClientIp4 = "198.18.1.2", ClientGw4 = "198.18.1.1", ClientIp6 = "2001:db8:1::2", ClientGw6 = "2001:db8:1::1";
    public const string ServerIp4 = "198.18.2.2", ServerGw4 = "198.18.2.1", ServerIp6 = "2001:db8:2::2", ServerGw6 = "2001:db8:2::1";

    public string Suffix => _set.Suffix;
    public string ClientNs { get; }
    public string DataplaneNs { get; }
    public string ServerNs { get; }
    /// <summary>Client's veth (in the client namespace) and its peer in the dataplane namespace.</summary>
    public string ClientIf { get; }
    public string DpClientIf { get; }
    public string ServerIf { get; }
    public string DpServerIf { get; }
    public string ConfigDir { get; }
    public int Queues { get; }
    /// <summary>The veths keep the kernel's default offloads (checksum offload, TSO/GSO on).</summary>
    public bool DefaultOffloads { get; }
    /// <summary>
    /// Client side as a shared segment: a bridge in a switch namespace joins the client, the dataplane's client-side
    /// port and a third host (<see cref="OtherNs"/>, <see cref="OtherIp4"/>), so the dataplane sees the other hosts' frames.
    /// </summary>
    public bool SharedSegment { get; }
    public const string OtherIp4 = "198.18.1.3", OtherIp6 = "2001:db8:1::3";
    public string OtherNs { get; }
    public string SwitchNs { get; }
    public string OtherIf { get; }

    private readonly NetnsSet _set = new();

    /// <param name="queues">rx/tx queues of every veth (multi-queue workers).</param>
    /// <param name="defaultOffloads">leave every veth's offloads as the kernel set them.</param>
    /// <param name="sharedSegment">client side on a bridge shared with a third host.</param>
    public NetnsTopology(int queues = 1, bool defaultOffloads = false, bool sharedSegment = false)
    {
        Queues = queues;
        DefaultOffloads = defaultOffloads;
        SharedSegment = sharedSegment;
        ClientIf = $"dpc{Suffix}"; DpClientIf = $"dpa{Suffix}"; ServerIf = $"dps{Suffix}"; DpServerIf = $"dpb{Suffix}";
        OtherIf = $"dpo{Suffix}";
        try
        {
            ConfigDir = _set.Dir("cfg");
            ClientNs = _set.Add("c"); DataplaneNs = _set.Add("d"); ServerNs = _set.Add("s");
            OtherNs = sharedSegment ? _set.Add("o") : ""; SwitchNs = sharedSegment ? _set.Add("w") : "";
            Build();
        }
        catch { Dispose(); throw; }
    }

    private void Build()
    {
        if (SharedSegment) BuildSegment();
        else _set.Veth(ClientIf, ClientNs, DpClientIf, DataplaneNs, Queues);
        _set.Veth(ServerIf, ServerNs, DpServerIf, DataplaneNs, Queues);
        // The kernel in the dataplane namespace must not answer or originate anything on the forwarder's links.
        NetnsSet.KernelStaysOff(DataplaneNs);
        Sh.Must("ip", "-n", ClientNs, "addr", "add", $"{ClientIp4}/24", "dev", ClientIf);
        Sh.Must("ip", "-n", ClientNs, "addr", "add", $"{ClientIp6}/64", "dev", ClientIf, "nodad");
        Sh.Must("ip", "-n", ServerNs, "addr", "add", $"{ServerIp4}/24", "dev", ServerIf);
        Sh.Must("ip", "-n", ServerNs, "addr", "add", $"{ServerIp6}/64", "dev", ServerIf, "nodad");
        foreach (var (ns, dev) in new[] { (ClientNs, ClientIf), (DataplaneNs, DpClientIf), (DataplaneNs, DpServerIf), (ServerNs, ServerIf) })
        {
            // Checksum offload would leave partial checksums in the frames we forward; GSO/GRO would hand us 64 KiB frames.
            if (DefaultOffloads) Sh.Must("ip", "-n", ns, "link", "set", dev, "up");
            else NetnsSet.Up(ns, dev);
        }
        Sh.Must("ip", "-n", ClientNs, "route", "add", "default", "via", ClientGw4);
        Sh.Must("ip", "-n", ClientNs, "-6", "route", "add", "default", "via", ClientGw6);
        Sh.Must("ip", "-n", ServerNs, "route", "add", "default", "via", ServerGw4);
        Sh.Must("ip", "-n", ServerNs, "-6", "route", "add", "default", "via", ServerGw6);
        WriteConfig();
    }

    /// <summary>A bridge in the switch namespace with one port each to the client, the dataplane and the other host.</summary>
    private void BuildSegment()
    {
        Sh.Must("ip", "-n", SwitchNs, "link", "add", "br0", "type", "bridge");
        foreach (var (ns, dev, sw) in new[] { (ClientNs, ClientIf, "pc"), (DataplaneNs, DpClientIf, "pd"), (OtherNs, OtherIf, "po") })
        {
            _set.Veth(dev, ns, sw, SwitchNs, Queues);
            Sh.Must("ip", "-n", SwitchNs, "link", "set", sw, "master", "br0", "up");
        }
        Sh.Must("ip", "-n", SwitchNs, "link", "set", "br0", "up");
        Sh.Must("ip", "-n", OtherNs, "addr", "add", $"{OtherIp4}/24", "dev", OtherIf);
        Sh.Must("ip", "-n", OtherNs, "addr", "add", $"{OtherIp6}/64", "dev", OtherIf, "nodad");
        Sh.Must("ip", "-n", OtherNs, "link", "set", OtherIf, "up");
    }

    public string Mac(string ns, string dev) => NetnsSet.Mac(ns, dev);

    private void WriteConfig()
    {
        // No neighbours: the dataplane resolves the client and the server by ARP/ND, their kernels answer.
        string ma = Mac(DataplaneNs, DpClientIf), mb = Mac(DataplaneNs, DpServerIf);
        File.WriteAllText(Path.Combine(ConfigDir, "node.yaml"), $"""
            apiVersion: v1
            kind: Node
            metadata: {"{"}name: dp{"}"}
            spec: {"{"}podCIDRs: ["198.18.100.0/24"]{"}"}
            status:
              addresses: [{"{"}type: InternalIP, address: {ClientGw4}{"}"}]
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {"{"}name: dp{"}"}
            spec:
              interfaces:
                - {"{"}name: {DpClientIf}, mac: "{ma}", addresses: ["{ClientGw4}/24", "{ClientGw6}/64"]{"}"}
                - {"{"}name: {DpServerIf}, mac: "{mb}", addresses: ["{ServerGw4}/24", "{ServerGw6}/64"]{"}"}
            """);
    }

    /// <summary>Runs a command inside a namespace with a bound.</summary>
    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => _set.Exec(ns, timeout, cmd);

    /// <summary>Starts a long-running command inside a namespace; killed at the latest on Dispose.</summary>
    public Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    /// <summary>The forwarder: `dataplane-node run` in the dataplane namespace.</summary>
    public Background StartForwarder(string backend, params string[] extra)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        return Start(DataplaneNs, ["dotnet", dll, "run", "--config", ConfigDir, "--backend", backend, .. PodTopology.AgentArgs(ConfigDir), .. extra]);
    }

    public void Dispose() => _set.Dispose();
}
