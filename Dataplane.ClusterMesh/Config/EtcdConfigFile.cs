using Dataplane.ClusterMesh.Kvstore;
using Dataplane.Control.Config;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dataplane.ClusterMesh.Config;

/// <summary>
/// Cilium's etcd client config file — the file cilium-agent reads for its own kvstore (<c>etcd.config</c>) and,
/// one per remote cluster named after it, from <c>/var/lib/cilium/clustermesh/</c>:
/// <code>
/// endpoints: [https://c2.mesh.cilium.io:2379]
/// trusted-ca-file: /var/lib/cilium/clustermesh/c2.etcd-client-ca.crt
/// cert-file: /var/lib/cilium/clustermesh/c2.etcd-client.crt
/// key-file: /var/lib/cilium/clustermesh/c2.etcd-client.key
/// </code>
/// plus etcd's <c>username</c>/<c>password</c> and the deprecated <c>ca-file</c> spelling of <c>trusted-ca-file</c>.
/// <c>server-name</c> is this project's addition: the name the server certificate must carry when the endpoint is
/// an address (Cilium writes the name into the URL and maps it with host aliases instead). Relative paths are taken
/// from the file's directory. The named certificates are loaded here, so a broken one is an error at load time.
/// </summary>
public static class EtcdConfigFile
{
    private static readonly string[] Fields =
        ["endpoints", "trusted-ca-file", "ca-file", "cert-file", "key-file", "server-name", "username", "password"];

    public static EtcdClientConfig Load(string path)
    {
        path = Path.GetFullPath(path);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(new SourceLocation(path, 0, 0), $"cannot read etcd config: {e.Message}");
        }
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e) { throw new ConfigException(new SourceLocation(path, (int)e.Start.Line, (int)e.Start.Column), e.Message); }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException(new SourceLocation(path, 0, 0), "an etcd config must be one YAML mapping");

        foreach (var k in root.Children.Keys)
            if (k is not YamlScalarNode { Value: { } key } || !Fields.Contains(key))
                throw Error(path, k, $"unknown field {(k as YamlScalarNode)?.Value}; supported: {string.Join(", ", Fields)}");

        if (!root.Children.TryGetValue("endpoints", out var epNode) || epNode is not YamlSequenceNode { Children.Count: > 0 } eps)
            throw Error(path, root, "endpoints must be a non-empty list of URLs");
        var endpoints = new List<string>();
        foreach (var e in eps.Children)
        {
            var s = Str(path, e, "endpoint");
            if (!Uri.TryCreate(s, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.IsDefaultPort || u.AbsolutePath != "/")
                throw Error(path, e, $"invalid etcd endpoint {s}: expected http(s)://host:port");
            endpoints.Add(s.TrimEnd('/'));
        }
        if (endpoints.Select(e => e.StartsWith("https:", StringComparison.Ordinal)).Distinct().Count() > 1)
            throw Error(path, eps, "endpoints mix http and https");

        var dir = Path.GetDirectoryName(path)!;
        string? PathOf(string key) => root.Children.TryGetValue(key, out var n) ? Path.GetFullPath(Str(path, n, key), dir) : null;
        string? Text(string key) => root.Children.TryGetValue(key, out var n) ? Str(path, n, key) : null;
        if (root.Children.ContainsKey("ca-file") && root.Children.ContainsKey("trusted-ca-file"))
            throw Error(path, root, "give trusted-ca-file or its old name ca-file, not both");
        var config = new EtcdClientConfig(endpoints)
        {
            TrustedCaFile = PathOf("trusted-ca-file") ?? PathOf("ca-file"), CertFile = PathOf("cert-file"), KeyFile = PathOf("key-file"),
            ServerName = Text("server-name"), Username = Text("username"), Password = Text("password"), SourceFile = path,
        };
        if ((config.CertFile == null) != (config.KeyFile == null))
            throw Error(path, root, "cert-file and key-file go together");
        if (!config.UsesTls && (config.TrustedCaFile ?? config.CertFile ?? config.ServerName) != null)
            throw Error(path, eps, "TLS settings given but the endpoints are http://; use https://");
        if (config.Username != null && config.Password == null)
            throw Error(path, root, "username without password");
        if (config.UsesTls)
        {
            try { TlsMaterial.Load(config).Dispose(); }
            catch (InvalidDataException e) { throw new ConfigException(new SourceLocation(path, 0, 0), e.Message); }
        }
        return config;
    }

    /// <summary>
    /// The remote clusters of a clustermesh directory, as Cilium reads it: every regular file whose content has
    /// <c>endpoints:</c> is one cluster, named after the file; hidden files (a mounted Secret's <c>..data</c>
    /// links), other files (the certificates beside them) and the local cluster's own file are skipped.
    /// </summary>
    public static List<(string Name, string Path)> ClustersIn(string dir, string localCluster)
    {
        if (!Directory.Exists(dir)) throw new ConfigException(new SourceLocation(dir, 0, 0), "clustermesh directory does not exist");
        var list = new List<(string, string)>();
        foreach (var f in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(f);
            if (name.StartsWith('.') || name == localCluster) continue;
            string text;
            try { text = System.IO.File.ReadAllText(f); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (text.Contains("endpoints:", StringComparison.Ordinal)) list.Add((name, Path.GetFullPath(f)));
        }
        return list;
    }

    private static string Str(string file, YamlNode node, string what) =>
        node is YamlScalarNode { Value: { Length: > 0 } s } ? s : throw Error(file, node, $"{what} must be a non-empty scalar");

    private static ConfigException Error(string file, YamlNode node, string reason) =>
        new(new SourceLocation(file, (int)node.Start.Line, (int)node.Start.Column), reason);
}
