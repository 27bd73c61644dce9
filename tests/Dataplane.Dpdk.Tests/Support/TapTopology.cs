
namespace Dataplane.Dpdk.Tests.Support;

/// <summary>
/// client — dataplane — server where the dataplane's links are tap devices that DPDK's net_tap driver creates
/// (`--vdev net_tap0,iface=tcXXXX`) in the dataplane namespace; <see cref="Wire"/> then moves each tap into its
/// host's namespace and gives it the host's address and MAC, so the kernel side of each tap is the client's or the
/// server's interface and the DPDK side is the forwarder's. Addresses from 198.18.0.0/15 and 2001:db8::/32; names
/// unique per run; Dispose kills what runs inside and deletes the namespaces.
/// </summary>
public sealed class TapTopology : IDisposable
{
    public const string ClientIp4 = "198.18.11.2", ClientGw4 = "198.18.11.1", ClientIp6 = "2001:db8:11::2", ClientGw6 = "2001:db8:11::1";
    public const string ServerIp4 = "198.18.12.2", ServerGw4 = "198.18.12.1", ServerIp6 = "2001:db8:12::2", ServerGw6 = "2001:db8:12::1";
    public const string ClientMac = "02:00:00:00:11:02", ServerMac = "02:00:00:00:12:02";

    private readonly NetnsSet _set = new();
    public string Suffix => _set.Suffix;
    public string ClientNs { get; } = "";
    public string DataplaneNs { get; } = "";
    public string ServerNs { get; } = "";
    public string ClientTap { get; }
    public string ServerTap { get; }
    public string ConfigDir { get; } = "";

    public TapTopology()
    {
        ClientTap = $"tpc{Suffix}"; ServerTap = $"tps{Suffix}";
        try
        {
            ClientNs = _set.Add("tc"); DataplaneNs = _set.Add("td"); ServerNs = _set.Add("ts");
            ConfigDir = _set.Dir("tap");
            NetnsSet.KernelStaysOff(DataplaneNs);
            File.WriteAllText(Path.Combine(ConfigDir, "node.yaml"), $$"""
                apiVersion: v1
                kind: Node
                metadata: {name: dp}
                spec: {podCIDRs: ["198.18.110.0/24"]}
                status:
                  addresses: [{type: InternalIP, address: {{ClientGw4}}}]
                ---
                apiVersion: dataplane.io/v1alpha1
                kind: DataplaneNode
                metadata: {name: dp}
                spec:
                  interfaces:
                    - {name: {{ClientTap}}, mac: "02:00:00:00:11:01", addresses: ["{{ClientGw4}}/24", "{{ClientGw6}}/64"]}
                    - {name: {{ServerTap}}, mac: "02:00:00:00:12:01", addresses: ["{{ServerGw4}}/24", "{{ServerGw6}}/64"]}
                """);
        }
        catch { Dispose(); throw; }
    }

    /// <summary>The EAL arguments that create both taps.</summary>
    public string VdevArgs => $"--vdev net_tap0,iface={ClientTap} --vdev net_tap1,iface={ServerTap}";

    /// <summary>Once the forwarder has created the taps: each goes to its host's namespace with address, MAC and routes.</summary>
    public void Wire()
    {
        foreach (var (tap, ns, mac, ip4, ip6, gw4, gw6) in new[]
                 {
                     (ClientTap, ClientNs, ClientMac, ClientIp4, ClientIp6, ClientGw4, ClientGw6),
                     (ServerTap, ServerNs, ServerMac, ServerIp4, ServerIp6, ServerGw4, ServerGw6),
                 })
        {
            Sh.Must("ip", "-n", DataplaneNs, "link", "set", tap, "netns", ns);
            Sh.Must("ip", "-n", ns, "link", "set", tap, "address", mac);
            Sh.Must("ip", "-n", ns, "addr", "add", $"{ip4}/24", "dev", tap);
            Sh.Must("ip", "-n", ns, "addr", "add", $"{ip6}/64", "dev", tap, "nodad");
            NetnsSet.Up(ns, tap);
            Sh.Must("ip", "-n", ns, "route", "add", "default", "via", gw4);
            Sh.Must("ip", "-n", ns, "-6", "route", "add", "default", "via", gw6);
        }
    }

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => _set.Exec(ns, timeout, cmd);

    public Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    public Background StartForwarder(params string[] extra)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        return Start(DataplaneNs, ["dotnet", dll, "run", "--config", ConfigDir, "--backend", "dpdk", .. PodTopology.AgentArgs(ConfigDir), .. extra]);
    }

    public void Dispose() => _set.Dispose();
}
