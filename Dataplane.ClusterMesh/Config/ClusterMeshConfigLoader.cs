using System.Net;
using System.Globalization;
using System.Text.RegularExpressions;
using Dataplane.ClusterMesh.Identity;
using Dataplane.Control.Config;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dataplane.ClusterMesh.Config;

/// <summary>
/// Reads the ClusterMeshConfig document (its own file: the node's config directory loader does not know this
/// kind). Every error is a <see cref="ConfigException"/> at file:line:col; nothing is returned unless the whole
/// document is valid: cluster names as Cilium accepts them (≤ 32 lowercase alphanumerics and '-'), IDs 1–255,
/// no name or ID used twice, endpoints http(s)://host:port. An etcd may instead be given as Cilium's etcd config
/// file (<c>config:</c>, TLS and auth) and the remote clusters as Cilium's clustermesh directory
/// (<c>clustermeshDir:</c>, see <see cref="EtcdConfigFile"/>).
/// </summary>
public static partial class ClusterMeshConfigLoader
{
    public const string ApiVersion = "dataplane.io/v1alpha1";
    public const string Kind = "ClusterMeshConfig";

    [GeneratedRegex("^([a-z0-9][-a-z0-9]*)?[a-z0-9]$")]
    private static partial Regex ClusterName();

    public static ClusterMeshConfig LoadFile(string path)
    {
        if (!File.Exists(path)) throw new ConfigException(new SourceLocation(path, 0, 0), "file does not exist");
        return Load(path, File.ReadAllText(path));
    }

    public static ClusterMeshConfig Load(string file, string text)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) { throw new ConfigException(At(file, e.Start), e.Message); }

        var docs = stream.Documents.Where(d => d.RootNode is not YamlScalarNode { Value: null or "" }).ToList();
        if (docs.Count != 1)
            throw new ConfigException(new SourceLocation(file, 0, 0), $"expected exactly one {Kind} document, found {docs.Count}");
        var root = Map(file, docs[0].RootNode, "document");
        Only(file, root, "apiVersion", "kind", "metadata", "spec");
        var api = Str(file, Need(file, root, "apiVersion"), "apiVersion");
        var kind = Str(file, Need(file, root, "kind"), "kind");
        if (kind != Kind) throw Error(file, root["kind"], $"unsupported kind {kind}; expected {Kind}");
        if (api != ApiVersion) throw Error(file, root["apiVersion"], $"{Kind} requires apiVersion {ApiVersion}");
        var spec = Map(file, Need(file, root, "spec"), "spec");
        Only(file, spec, "cluster", "etcd", "remoteClusters", "clustermeshDir", "enableOverlappingPodCIDRSupport");

        var cluster = Map(file, Need(file, spec, "cluster"), "spec.cluster");
        Only(file, cluster, "name", "id");
        var name = Name(file, Need(file, cluster, "name"));
        var id = Id(file, Need(file, cluster, "id"));

        var etcd = Map(file, Need(file, spec, "etcd"), "spec.etcd");
        Only(file, etcd, "endpoints", "config", "leaseTTLSeconds");
        var local = Etcd(file, etcd, "spec.etcd");
        var endpoints = local?.Endpoints ?? Endpoints(file, Need(file, etcd, "endpoints"));
        var ttl = TimeSpan.FromSeconds(15 * 60);   // Cilium's default lease TTL: 15 minutes
        if (etcd.Children.TryGetValue("leaseTTLSeconds", out var ttlNode))
        {
            if (!int.TryParse(Str(file, ttlNode, "leaseTTLSeconds"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) || s < 2 || s > 86400)
                throw Error(file, ttlNode, "leaseTTLSeconds must be an integer from 2 to 86400");
            ttl = TimeSpan.FromSeconds(s);
        }

        var remotes = new List<RemoteClusterConfig>();
        if (spec.Children.TryGetValue("remoteClusters", out var rcNode))
        {
            if (rcNode is not YamlSequenceNode seq) throw Error(file, rcNode, "remoteClusters must be a list");
            var names = new HashSet<string> { name };
            var ids = new HashSet<uint> { id };
            foreach (var item in seq.Children)
            {
                var rc = Map(file, item, "remote cluster");
                Only(file, rc, "name", "id", "endpoints", "config", "translatedPodCIDRs");
                var rcName = Name(file, Need(file, rc, "name"));
                var rcEtcd = Etcd(file, rc, $"remote cluster {rcName}");
                // With an etcd config file the ID may be left to the cluster's own cluster-config key.
                var rcId = rcEtcd != null && !rc.Children.ContainsKey("id") ? 0 : Id(file, Need(file, rc, "id"));
                if (!names.Add(rcName)) throw Error(file, rc["name"], rcName == name ? $"remote cluster {rcName} has this cluster's name" : $"cluster name {rcName} is used twice");
                if (rcId != 0 && !ids.Add(rcId)) throw Error(file, rc["id"], rcId == id ? $"remote cluster {rcName} has this cluster's ID {rcId}" : $"cluster ID {rcId} is used twice");
                remotes.Add(new RemoteClusterConfig(rcName, rcId, rcEtcd?.Endpoints ?? Endpoints(file, Need(file, rc, "endpoints")), At(file, item.Start))
                {
                    Etcd = rcEtcd,
                    TranslatedPodCidrs = rc.Children.TryGetValue("translatedPodCIDRs", out var tr) ? Translations(file, tr, spec) : [],
                });
            }
        }
        if (spec.Children.TryGetValue("clustermeshDir", out var dirNode))
        {
            // Cilium's layout: one etcd config file per remote cluster, named after it; IDs from each cluster's etcd.
            var dir = Path.GetFullPath(Str(file, dirNode, "clustermeshDir"), BaseDir(file));
            if (!Directory.Exists(dir)) throw Error(file, dirNode, $"clustermeshDir {dir} does not exist");
            var names = remotes.Select(r => r.Name).Append(name).ToHashSet(StringComparer.Ordinal);
            foreach (var (rcName, path) in EtcdConfigFile.ClustersIn(dir, name))
            {
                if (rcName.Length > 32 || !ClusterName().IsMatch(rcName))
                    throw new ConfigException(new SourceLocation(path, 0, 0), $"invalid cluster name {rcName} (the file's name): at most 32 lowercase letters, digits and '-'");
                if (!names.Add(rcName)) throw Error(file, dirNode, $"remote cluster {rcName} in {dir} is also listed in remoteClusters");
                var rcEtcd = EtcdConfigFile.Load(path);
                remotes.Add(new RemoteClusterConfig(rcName, 0, rcEtcd.Endpoints, new SourceLocation(path, 0, 0)) { Etcd = rcEtcd });
            }
        }
        bool overlapping = false;
        if (spec.Children.TryGetValue("enableOverlappingPodCIDRSupport", out var ovNode)
            && !bool.TryParse(Str(file, ovNode, "enableOverlappingPodCIDRSupport"), out overlapping))
            throw Error(file, ovNode, "enableOverlappingPodCIDRSupport must be true or false");
        return new ClusterMeshConfig(name, id, endpoints, ttl, remotes, At(file, root.Start)) { Etcd = local, OverlappingPodCidrs = overlapping };
    }

    /// <summary><c>translatedPodCIDRs: [{podCIDR, as}]</c>: IPv4 prefixes of equal length; needs overlapping pod CIDR support.</summary>
    private static List<(IPNetwork, IPNetwork)> Translations(string file, YamlNode node, YamlMappingNode spec)
    {
        if (!spec.Children.TryGetValue("enableOverlappingPodCIDRSupport", out var on) || on is not YamlScalarNode { Value: "true" })
            throw Error(file, node, "translatedPodCIDRs needs enableOverlappingPodCIDRSupport: true");
        if (node is not YamlSequenceNode seq) throw Error(file, node, "translatedPodCIDRs must be a list of {podCIDR, as}");
        var list = new List<(IPNetwork, IPNetwork)>();
        foreach (var item in seq.Children)
        {
            var m = Map(file, item, "translatedPodCIDRs entry");
            Only(file, m, "podCIDR", "as");
            var from = Prefix(file, Need(file, m, "podCIDR"));
            var to = Prefix(file, Need(file, m, "as"));
            if (from.PrefixLength != to.PrefixLength) throw Error(file, m["as"], $"as {to} must have the length of podCIDR {from} (addresses map one to one)");
            list.Add((from, to));
        }
        return list;
    }

    private static IPNetwork Prefix(string file, YamlNode node)
    {
        var s = Str(file, node, "prefix");
        // Written as the network itself (IPNetwork.TryParse would mask host bits away silently).
        if (!IPNetwork.TryParse(s, out var n) || n.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || n.ToString() != s)
            throw Error(file, node, $"invalid IPv4 prefix {s} (address/length, no host bits)");
        return n;
    }

    /// <summary>An etcd config file named by <c>config:</c> (relative to this file), or null when endpoints are given inline.</summary>
    private static Kvstore.EtcdClientConfig? Etcd(string file, YamlMappingNode map, string what)
    {
        var hasFile = map.Children.TryGetValue("config", out var node);
        if (hasFile && map.Children.ContainsKey("endpoints")) throw Error(file, node!, $"{what}: give endpoints or an etcd config file, not both");
        return hasFile ? EtcdConfigFile.Load(Path.GetFullPath(Str(file, node!, "config"), BaseDir(file))) : null;
    }

    private static string BaseDir(string file) => Path.GetDirectoryName(Path.GetFullPath(file)) ?? "/";

    private static string Name(string file, YamlNode node)
    {
        var s = Str(file, node, "cluster name");
        if (s.Length > 32 || !ClusterName().IsMatch(s))
            throw Error(file, node, $"invalid cluster name {s}: at most 32 lowercase letters, digits and '-', starting and ending alphanumeric");
        return s;
    }

    private static uint Id(string file, YamlNode node)
    {
        var s = Str(file, node, "cluster id");
        if (!uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1 || id > IdentityRange.MaxClusterId)
            throw Error(file, node, $"invalid cluster ID {s}: must be 1 to {IdentityRange.MaxClusterId}");
        return id;
    }

    private static List<string> Endpoints(string file, YamlNode node)
    {
        if (node is not YamlSequenceNode seq || seq.Children.Count == 0) throw Error(file, node, "endpoints must be a non-empty list of URLs");
        var list = new List<string>();
        foreach (var e in seq.Children)
        {
            var s = Str(file, e, "endpoint");
            if (!Uri.TryCreate(s, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.IsDefaultPort || u.AbsolutePath != "/")
                throw Error(file, e, $"invalid etcd endpoint {s}: expected http(s)://host:port");
            list.Add(s);
        }
        return list;
    }

    private static YamlMappingNode Map(string file, YamlNode node, string what) =>
        node as YamlMappingNode ?? throw Error(file, node, $"{what} must be a mapping");

    private static YamlNode Need(string file, YamlMappingNode map, string key) =>
        map.Children.TryGetValue(key, out var v) ? v : throw Error(file, map, $"missing field {key}");

    private static void Only(string file, YamlMappingNode map, params string[] allowed)
    {
        foreach (var k in map.Children.Keys)
            if (k is not YamlScalarNode { Value: { } s } || !allowed.Contains(s))
                throw Error(file, k, $"unknown field {(k as YamlScalarNode)?.Value}; allowed: {string.Join(", ", allowed)}");
    }

    private static string Str(string file, YamlNode node, string what) =>
        node is YamlScalarNode { Value: { Length: > 0 } s } ? s : throw Error(file, node, $"{what} must be a non-empty scalar");

    private static ConfigException Error(string file, YamlNode node, string reason) => new(At(file, node.Start), reason);

    private static SourceLocation At(string file, Mark m) => new(file, (int)m.Line, (int)m.Column);
}
