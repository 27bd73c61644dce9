using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Cni.Cni;

/// <summary>
/// The network configuration on stdin (one plugin entry of a conflist, as the runtime passes it). Ours:
/// <code>
/// { "cniVersion": "1.0.0", "name": "pods", "type": "dataplane-cni",
///   "agentSocket": "/run/dataplane/agent.sock",   // optional
///   "namespace": "default",                        // pods without K8S_POD_NAMESPACE
///   "mtu": 1500,
///   "ipam": { "subnets": ["198.18.64.0/24"], "dataDir": "/var/lib/dataplane/ipam" } }  // subnets default: the node's pod CIDRs
/// </code>
/// With <c>ipam.type</c> set (e.g. "host-local") addresses come from that IPAM plugin instead (<see cref="Ipam.DelegatedIpam"/>);
/// the plugin's own records then live under the top-level <c>dataDir</c> (default <see cref="DefaultDataDir"/>).
/// Unknown top-level keys are ignored, as the spec asks; labels come from runtimeConfig/args "cni.labels".
/// </summary>
public sealed record NetConf(string CniVersion, string Name, string AgentSocket, string Namespace, int Mtu,
    IReadOnlyList<IPNetwork> Subnets, string DataDir, IReadOnlyDictionary<string, string> Labels, JsonObject Raw)
{
    /// <summary>The IPAM plugin to delegate to (ipam.type), or null: the built-in IPAM.</summary>
    public string? IpamType { get; init; }

    /// <summary>Where this plugin records its attachments (for CHECK and GC): one directory per network.</summary>
    public string AttachmentDir => Path.Combine(DataDir, Name, "attachments");

    /// <summary>1.1.0 and later: STATUS and GC exist.</summary>
    public bool IsAtLeast11 => CniVersion is not ("0.1.0" or "0.2.0" or "0.3.0" or "0.3.1" or "0.4.0" or "1.0.0");

    public const string DefaultDataDir = "/var/lib/dataplane/ipam";

    /// <summary>
    /// A key given twice is ambiguous (libcni's Go decoder keeps the last, others the first), so it is a decode
    /// failure rather than a guess; System.Text.Json would otherwise accept it and throw later, on first access.
    /// </summary>
    public static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    public static NetConf Parse(string json, bool versionOnly = false)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: StrictJson) as JsonObject
                ?? throw new CniException(CniCode.DecodeFailure, "network configuration is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new CniException(CniCode.DecodeFailure, "network configuration is not valid JSON", e.Message);
        }
        string version = Str(root, "cniVersion") ?? (versionOnly ? CniVersions.Current : "0.1.0");
        if (!CniVersions.IsSupported(version))
            throw new CniException(CniCode.IncompatibleVersion, $"cniVersion {version} is not supported",
                $"supported: {string.Join(", ", CniVersions.Supported)}");
        if (versionOnly) return new NetConf(version, "", "", "", 0, [], "", new Dictionary<string, string>(), root);

        string name = Str(root, "name") ?? throw new CniException(CniCode.InvalidNetworkConfig, "\"name\" is required");
        if (!Identifiers.IsNetworkName(name))
            throw new CniException(CniCode.InvalidNetworkConfig, $"network name '{name}' is not a CNI network name (an alphanumeric, then alphanumerics, '_', '.' or '-'; at most 255)");
        int mtu = 1500;
        if (root["mtu"] is JsonNode m && (!TryInt(m, out mtu) || mtu is < 576 or > 65535))
            throw new CniException(CniCode.InvalidNetworkConfig, "\"mtu\" must be a number between 576 and 65535");

        var subnets = new List<IPNetwork>();
        string dataDir = Str(root, "dataDir") ?? DefaultDataDir;
        string? ipamType = null;
        if (root["ipam"] is JsonNode ipamNode)
        {
            if (ipamNode is not JsonObject ipam) throw new CniException(CniCode.InvalidNetworkConfig, "\"ipam\" must be an object");
            ipamType = Str(ipam, "type");
            if (ipamType is not null && (ipamType.Length == 0 || ipamType.Contains('/') || ipamType is "." or ".."))
                throw new CniException(CniCode.InvalidNetworkConfig, $"ipam.type '{ipamType}' is not a plugin name");
            // A delegated IPAM plugin reads the rest of "ipam" itself (host-local has a dataDir of its own).
            if (ipamType is null) dataDir = Str(ipam, "dataDir") ?? dataDir;
            if (ipamType is null && ipam["subnets"] is JsonNode sn)
            {
                if (sn is not JsonArray arr) throw new CniException(CniCode.InvalidNetworkConfig, "ipam.subnets must be an array of CIDRs");
                foreach (var s in arr)
                {
                    string text = s?.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : "";
                    if (!IPNetwork.TryParse(text, out var net) || HasHostBits(text, net))
                        throw new CniException(CniCode.InvalidNetworkConfig, $"ipam.subnets: '{s?.ToJsonString()}' is not a network CIDR");
                    int hostBits = (net.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128) - net.PrefixLength;
                    if (hostBits < 2) throw new CniException(CniCode.InvalidNetworkConfig, $"ipam.subnets: {net} leaves no room for pods");
                    subnets.Add(net);
                }
            }
        }
        string ns = Str(root, "namespace") ?? "default";
        if (!Identifiers.IsObjectName(ns, 63))
            throw new CniException(CniCode.InvalidNetworkConfig, $"namespace '{ns}' is not a namespace name (up to 63 of A-Z a-z 0-9 _ . -)");
        return new NetConf(version, name, Str(root, "agentSocket") ?? Dataplane.Host.Api.AgentSocket.DefaultPath,
            ns, mtu, subnets, dataDir, ReadLabels(root), root) { IpamType = ipamType };
    }

    /// <summary>CNI's label convention: "labels": [{"key","value"}] under runtimeConfig or args.cni.</summary>
    private static Dictionary<string, string> ReadLabels(JsonObject root)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var list in new[] { root["runtimeConfig"]?["labels"], root["args"]?["cni"]?["labels"] })
        {
            if (list is null) continue;
            if (list is not JsonArray arr) throw new CniException(CniCode.InvalidNetworkConfig, "labels must be an array of {key, value}");
            foreach (var item in arr)
            {
                string? k = item is JsonObject o ? Str(o, "key") : null, v = item is JsonObject o2 ? Str(o2, "value") : null;
                if (k is null || v is null) throw new CniException(CniCode.InvalidNetworkConfig, $"label {item?.ToJsonString()} needs string key and value");
                if (!Identifiers.IsLabelKey(k) || !Identifiers.IsLabelValue(v))
                    throw new CniException(CniCode.InvalidNetworkConfig, $"label {item!.ToJsonString()} is not a Kubernetes label (key [prefix/]name, value up to 63 of A-Z a-z 0-9 _ . -)");
                labels[k] = v;
            }
        }
        return labels;
    }

    /// <summary>"198.18.64.1/24" names an address, not a subnet: refused rather than silently masked.</summary>
    private static bool HasHostBits(string text, IPNetwork net) =>
        !IPAddress.TryParse(text.Split('/')[0], out var given) || !given.Equals(net.BaseAddress);   // TryParse masks them away

    private static string? Str(JsonObject o, string key)
    {
        if (o[key] is not JsonNode n) return null;
        if (n.GetValueKind() != JsonValueKind.String) throw new CniException(CniCode.InvalidNetworkConfig, $"\"{key}\" must be a string");
        return n.GetValue<string>();
    }

    private static bool TryInt(JsonNode n, out int value)
    {
        value = 0;
        return n.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue(out value);
    }
}
