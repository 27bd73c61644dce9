using YamlDotNet.Core;

namespace Dataplane.Control.Config;

/// <summary>
/// YAML files → validated <see cref="ConfigModel"/>, or a <see cref="ConfigException"/> naming the first
/// problem. Nothing is returned unless every document parses and every whole-model rule holds.
/// </summary>
public static class ConfigLoader
{
    /// <summary>
    /// Loads every <c>*.yaml</c>/<c>*.yml</c>/<c>*.json</c> file directly in <paramref name="dir"/>, in ordinal path order
    /// so the result (and the first error reported) does not depend on directory enumeration order.
    /// Dot-files are skipped: editors and Kubernetes ConfigMap volumes leave hidden entries behind. So is anything
    /// that is not a regular file (a FIFO would block every reload): see <see cref="ConfigFiles"/>.
    /// </summary>
    public static ConfigModel LoadDirectory(string dir)
    {
        if (!Directory.Exists(dir))
            throw new ConfigException(new SourceLocation(dir, 0, 0), "configuration directory does not exist");
        var files = Files(dir).Select(f => (File: f, Text: ConfigFiles.ReadRegular(f)))
            .Where(d => d.Text is not null)
            .Select(d => (d.File, d.Text!))
            .ToList();
        return Load(files, new SourceLocation(dir, 0, 0));
    }

    /// <summary>The config files of a directory, in the order they are read.</summary>
    internal static IEnumerable<string> Files(string dir) =>
        Directory.EnumerateFiles(dir).Where(f => !Path.GetFileName(f).StartsWith('.') && IsConfigFile(f)).Order(StringComparer.Ordinal);

    /// <summary>YAML, and JSON (a YAML subset: what <c>kubectl get -o json</c> writes loads as it is).</summary>
    public static bool IsConfigFile(string path) =>
        path.EndsWith(".yaml", StringComparison.Ordinal) || path.EndsWith(".yml", StringComparison.Ordinal)
        || path.EndsWith(".json", StringComparison.Ordinal);

    /// <summary>Loads in-memory documents; they are ordered by file name (stable for equal names).</summary>
    public static ConfigModel Load(IEnumerable<(string File, string Text)> documents)
    {
        var list = documents.ToList();
        var first = list.Select(d => d.File).Order(StringComparer.Ordinal).FirstOrDefault() ?? "<config>";
        return Load(list, new SourceLocation(first, 0, 0));
    }

    /// <param name="documents">(file, text) pairs; each text may hold several "---" documents.</param>
    /// <param name="origin">Blamed for errors about the configuration as a whole (e.g. no DataplaneNode).</param>
    private static ConfigModel Load(IEnumerable<(string File, string Text)> documents, SourceLocation origin)
    {
        var builder = new ModelBuilder();
        foreach (var (file, text) in documents.OrderBy(d => d.File, StringComparer.Ordinal))
            foreach (var root in ParseYaml(file, text))
                LoadDocument(root, builder);
        return Build(builder, origin);
    }

    /// <summary>
    /// What <c>validate</c> runs: every file and document of <paramref name="dir"/> read as <see cref="LoadDirectory"/>
    /// reads them, but every document's error collected rather than the first thrown; the whole-model rules run
    /// when every document read.
    /// </summary>
    public static ConfigReport Check(string dir)
    {
        var errors = new List<ConfigException>();
        var builder = new ModelBuilder();
        var files = new List<string>();
        if (!Directory.Exists(dir))
            return new ConfigReport(files, [], [], [new ConfigException(new SourceLocation(dir, 0, 0), "configuration directory does not exist")], null);
        foreach (var file in Files(dir))
        {
            List<YNode> roots;
            try
            {
                if (ConfigFiles.ReadRegular(file) is not { } text) continue;
                files.Add(file);
                roots = ParseYaml(file, text);
            }
            catch (ConfigException e) { errors.Add(e); continue; }
            catch (IOException e) { errors.Add(new ConfigException(new SourceLocation(file, 0, 0), e.Message)); continue; }
            foreach (var root in roots)
            {
                try { LoadDocument(root, builder); }
                catch (ConfigException e) { errors.Add(e); }
            }
        }
        ConfigModel? model = null;
        if (errors.Count == 0)
        {
            try { model = Build(builder, new SourceLocation(dir, 0, 0)); }
            catch (ConfigException e) { errors.Add(e); }
        }
        return new ConfigReport(files, builder.Read, builder.Skipped, errors, model);
    }

    private static ConfigModel Build(ModelBuilder builder, SourceLocation origin)
    {
        ModelValidator.Validate(builder, origin);
        var bgp = BgpValidator.Validate(builder);
        var pools = LbIpPoolValidator.Validate(builder);
        var infrastructure = builder.Pods.SelectMany(p => p.Spec.Ips).Concat(builder.Nodes.SelectMany(n => n.Spec.InternalIps))
            .Concat(builder.LocalNodes[0].Spec.Interfaces.SelectMany(i => i.Addresses.Select(a => a.Address))).ToList();
        var services = ServiceIpam.Allocate([.. builder.Services], builder.ServiceCidrs, infrastructure);
        var lbIpam = LbIpam.Allocate(services, pools, infrastructure);
        var localNode = builder.LocalNodes[0].Spec;
        return new ConfigModel(localNode,
            [.. builder.Nodes.Select(n => n.Spec)],
            [.. builder.Namespaces.Select(n => n.Spec)],
            [.. builder.Pods.Select(p => p.Spec)],
            [.. builder.Policies],
            [.. builder.Srv6Vrfs], [.. builder.Srv6EgressPolicies])
        {
            Services = lbIpam.Services,
            EndpointSlices = [.. builder.EndpointSlices],
            Skipped = [.. builder.Skipped],
            EgressGatewayPolicies = [.. builder.EgressPolicies],
            Bgp = bgp,
            LbIpPools = pools,
            CidrGroups = [.. builder.CidrGroups],
            LbIpAllocations = lbIpam.Allocations,
            LbIpPending = lbIpam.Pending,
            ExternalWorkloads = [.. builder.ExternalWorkloads],
            Gateways = [.. builder.Gateways],
            HttpRoutes = [.. builder.HttpRoutes],
        };
    }

    /// <summary>The non-empty documents of one file, as located nodes; size, depth and aliases bounded.</summary>
    private static List<YNode> ParseYaml(string file, string text)
    {
        if (text.Length > BoundedYamlParser.MaxFileBytes)
            throw new ConfigException(new SourceLocation(file, 1, 1),
                $"document is {text.Length} characters, more than the {BoundedYamlParser.MaxFileBytes >> 20} MiB a config file may have");
        var scanner = new Scanner(new StringReader(text));
        var parser = new BoundedYamlParser(file, new Parser(scanner));
        List<YamlTreeNode?> documents;
        try
        {
            documents = YamlTree.Load(parser, file);
        }
        catch (YamlException e)
        {
            throw new ConfigException(new SourceLocation(file, (int)e.Start.Line, (int)e.Start.Column), e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet's parser fails this way on some malformed input: truncated (an unclosed "["), or an event it
            // does not expect. The scanner's position (for that, the event's) is where to point.
            var at = e is ArgumentException && parser.Current is { } ev ? ev.Start : scanner.CurrentPosition;
            throw new ConfigException(new SourceLocation(file, (int)at.Line, (int)at.Column), "invalid YAML syntax");
        }

        var roots = new List<YNode>();
        foreach (var doc in documents)
        {
            if (doc is null) continue;
            var root = new YNode(file, doc, "");
            if (!root.IsNull)   // "---" followed by nothing, or only comments
                roots.Add(root);
        }
        return roots;
    }

    private static void LoadDocument(YNode root, ModelBuilder builder)
    {
        if (root.Node is not YamlTreeMapping)
            throw new ConfigException(root.At, "a document must be a mapping with apiVersion, kind and metadata");

        var apiNode = root.Get("apiVersion");
        var kindNode = root.Get("kind");
        var apiVersion = apiNode.String();
        var kind = kindNode.String();
        if (apiVersion == "v1" && kind == "List")
        {
            // kubectl get -o yaml: the objects are the items, each a document of its own (a List in a List is not).
            foreach (var item in root.Get("items").Items())
            {
                if (item.Node is YamlTreeMapping && item.TryGet("kind", out var k) && k.Node is YamlTreeScalar { Value: "List" })
                    throw item.Error("a List inside a List is not a Kubernetes object");
                LoadDocument(item, builder);
            }
            return;
        }
        if (!KindRegistry.Kinds.TryGetValue((apiVersion, kind), out var info))
        {
            var known = KindRegistry.ApiVersionsOf(kind).ToList();
            if (known.Count > 0)
                throw new ConfigException(apiNode.At,
                    $"unsupported kind {kind} (apiVersion {apiVersion}); {kind} requires apiVersion {string.Join(" or ", known)}");
            // Not ours (a Deployment, a ConfigMap …): a directory holds a whole application, so it is said, not refused.
            string skippedName = root.TryGet("metadata", out var meta) && meta.Node is YamlTreeMapping
                && meta.TryGet("name", out var n) && n.Node is YamlTreeScalar { Value: var v } ? v : "";
            builder.Skipped.Add(new SkippedDocument(root.At, apiVersion, kind, skippedName));
            return;
        }

        var metadata = root.Get("metadata");
        metadata.Mapping();
        var nameNode = metadata.Get("name");
        var name = nameNode.String();
        if (name.Length == 0)
            throw nameNode.Error("must not be empty");
        var ns = "";
        if (info.Namespaced)
        {
            ns = metadata.OptString("namespace") ?? "default";
            if (ns.Length == 0)
                ns = "default";
        }

        var doc = new ConfigDocument
        {
            Root = root, Kind = info, Metadata = metadata, NameNode = nameNode, Name = name, Namespace = ns,
        };
        builder.Register(doc);
        info.Parse(doc, builder);
    }
}
