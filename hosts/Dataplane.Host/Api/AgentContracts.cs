using System.Net.Sockets;

// Shared source: compiled into the host runtime (server) and dataplane-cni (client), so both sides agree on the wire.
// What every host's API answers; the node's endpoint registrations are in hosts/Dataplane.Node/Api/EndpointContracts.cs.
namespace Dataplane.Host.Api;

/// <summary>An error answer of the API.</summary>
public sealed record ApiError(string Error);

public sealed record PortStatus(int Id, string Name, string Kind, bool Attached, ulong RxPackets, ulong TxPackets, ulong TxDropped);

public sealed record EndpointStatus(string Namespace, string Name, string HostInterface, string Mac, List<string> Ips,
    uint Identity, string Source);

public sealed record ConfigErrorStatus(string Message, DateTimeOffset At);

/// <summary>One neighbour entry (like a line of `ip neigh`): state is the kernel's NUD name in lower case.</summary>
public sealed record NeighborStatus(string Interface, string Ip, string Mac, string State, long AgeMillis, int Queued);

public sealed record AgentStatus(
    string Node,
    string Backend,
    string Mode,
    int Workers,
    long Generation,
    DateTimeOffset LastApplied,
    ConfigErrorStatus? LastConfigError,
    List<PortStatus> Ports,
    List<EndpointStatus> Endpoints,
    long ConntrackEntries,
    long ConntrackCapacity,
    ulong RxPackets,
    ulong TxPackets,
    ulong LocalPackets,
    ulong DroppedPackets,
    Dictionary<string, ulong> DropsByReason,
    string? FlowsFile = null,
    string? MetricsUrl = null,
    ClusterMeshStatus? ClusterMesh = null,
    List<string>? Skipped = null,
    List<NeighborStatus>? Neighbors = null,
    BgpStatus? Bgp = null,
    LoadBalancerIpStatus? LoadBalancerIps = null,
    FlowExportStatus? FlowExport = null,
    string? HostFirewall = null,
    string? HubbleSocket = null,
    EncryptionStatus? Encryption = null,
    IpfixStatus? Ipfix = null);

/// <summary>
/// Transparent encryption (WireGuard, as `cilium-dbg encrypt status` shows it): this node's public key, the UDP port,
/// strict mode, each peer node with its endpoint, last handshake and bytes, and the device's counters (drops by reason).
/// </summary>
public sealed record EncryptionStatus(string Type, string PublicKey, int Port, bool StrictMode, List<EncryptionPeerStatus> Peers,
    Dictionary<string, long> Counters);

public sealed record EncryptionPeerStatus(string Node, string PublicKey, string Endpoint, DateTimeOffset? LastHandshake,
    long RxBytes, long TxBytes, List<string> AllowedIps);

/// <summary>
/// The flow exporter (--flows-file): events written, lost in a full ring, left out by the drop-event rate limit, not
/// written because the file could not be (a full disk), and the failed writes with the last error.
/// </summary>
public sealed record FlowExportStatus(string File, long Written, long Lost, long RateLimited, long Unwritten, long WriteErrors, string? LastError);

/// <summary>IPFIX export (--ipfix-collector): the collector, data records and messages sent, records whose send failed, the failed sends with the last error.</summary>
public sealed record IpfixStatus(string Collector, long Records, long Messages, long Unsent, long SendErrors, string? LastError);

/// <summary>BGP as the agent runs it: each instance's peers (session state, prefixes received and advertised), the
/// learned routes in the datapath's routing table (each with its ECMP next hops) and configuration problems.</summary>
public sealed record BgpStatus(List<BgpInstanceStatus> Instances, List<BgpLearnedRouteStatus> LearnedRoutes, List<string> Problems);

public sealed record BgpInstanceStatus(string Name, uint LocalAsn, string RouterId, List<BgpPeerStatus> Peers);

public sealed record BgpPeerStatus(string Address, uint PeerAsn, string State, int PrefixesReceived, int PrefixesAdvertised,
    bool TcpMd5, string? LastError);

public sealed record BgpLearnedRouteStatus(string Prefix, List<string> NextHops);

/// <summary>LB-IPAM: the addresses pools gave LoadBalancer services, and services still waiting for one.</summary>
public sealed record LoadBalancerIpStatus(List<LoadBalancerIpAllocation> Allocated, List<LoadBalancerIpPendingStatus> Pending);

public sealed record LoadBalancerIpAllocation(string Service, string Ip, string Pool);

public sealed record LoadBalancerIpPendingStatus(string Service, string Reason);

/// <summary>
/// Cluster Mesh as the agent runs it: this cluster's etcd (connected, keys published, writes pending), the remote
/// state in force (its version, nodes and ipcache entries; a newer one that failed to compile is reported in
/// <see cref="LastError"/> and not applied) and each remote cluster's watch.
/// </summary>
public sealed record ClusterMeshStatus(string Cluster, uint ClusterId, bool Connected, int Published, int Pending,
    int LocalIdentities, long StateVersion, int RemoteNodes, int RemoteEntries, List<RemoteClusterStatus> Remotes,
    string? LastError, DateTimeOffset? LastErrorAt);

public sealed record RemoteClusterStatus(string Name, uint Id, bool Connected, int Nodes, int Endpoints, int Identities,
    int Services, long Rejected, string? LastError);

/// <summary>How clients reach the agent's API: HTTP/1.1 over its unix socket.</summary>
public static class AgentSocket
{
    public const string DefaultPath = "/run/dataplane/agent.sock";

    /// <summary>An HTTP client whose every connection goes to <paramref name="socketPath"/>.</summary>
    public static HttpClient CreateClient(string socketPath, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            // A blocking connect: a unix socket connects or fails at once, and a synchronous Send (the CNI plugin's)
            // then runs on its caller's thread alone.
            ConnectCallback = (_, _) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    s.Connect(new UnixDomainSocketEndPoint(socketPath));
                    return ValueTask.FromResult<Stream>(new NetworkStream(s, ownsSocket: true));
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://agent/"), Timeout = timeout };
    }

    /// <summary>
    /// The agent's status answer (and its raw JSON), or null with the reason in <paramref name="error"/> when no
    /// agent answers on <paramref name="socketPath"/>.
    /// </summary>
    public static AgentStatus? FetchStatus(string socketPath, TimeSpan timeout, out string raw, out string? error)
    {
        raw = "";
        try
        {
            using var http = CreateClient(socketPath, timeout);
            raw = http.GetStringAsync("v1/status").GetAwaiter().GetResult();
            var s = System.Text.Json.JsonSerializer.Deserialize(raw, AgentJson.Default.AgentStatus);
            error = s is null ? $"empty answer from {socketPath}" : null;
            return s;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException or System.Text.Json.JsonException or IOException)
        {
            error = $"no agent answers on {socketPath}: {e.Message}";
            return null;
        }
    }
}
