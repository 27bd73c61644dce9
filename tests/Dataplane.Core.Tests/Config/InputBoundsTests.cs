using System.Text;
using Dataplane.Control.Config;
using Dataplane.Testing.Processes;

namespace Dataplane.Core.Tests.Config;

/// <summary>
/// Hostile config files are config errors with a file:line, never a crash or a hang: nesting that would
/// overflow the stack of a recursive YAML reader, an alias bomb, an oversized file, and things in the
/// directory that are not regular files (a FIFO blocks its reader until something writes to it).
/// </summary>
public sealed class InputBoundsTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>The issue's reproduction: 200 KB of '[' overflowed the stack inside the YAML parser (exit 134).</summary>
    public static string DeepFlow => new string('[', 100_000) + new string(']', 100_000);

    private void WriteValidCluster()
    {
        File.WriteAllText(_tmp["nodes.yaml"], ConfigYaml.Nodes + "\n---\n" + ConfigYaml.Local);
    }

    [Fact]
    public void DeepFlowNestingIsAConfigErrorAtItsLine()
    {
        WriteValidCluster();
        File.WriteAllText(_tmp["deep.yaml"], "# 100000 levels\n" + DeepFlow + "\n");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadDirectory(_tmp.Path));
        Assert.Equal(_tmp["deep.yaml"], e.Location.File);
        Assert.Equal(2, e.Location.Line);
        Assert.Equal(BoundedYamlParser.MaxDepth + 1, e.Location.Column);
        Assert.Contains($"nesting deeper than {BoundedYamlParser.MaxDepth} levels", e.Message);
    }

    [Fact]
    public void DeepBlockNestingIsAConfigError()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 5_000; i++) sb.Append(' ', i).Append("k:\n");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([("block.yaml", sb.ToString())]));
        Assert.Equal("block.yaml", e.Location.File);
        Assert.Equal(BoundedYamlParser.MaxDepth + 1, e.Location.Line);
        Assert.Contains("nesting deeper than", e.Reason);
    }

    [Fact]
    public void NestingUpToTheLimitStillLoadsAsYaml()
    {
        // 127 levels inside a valid document's annotations: parsed (and then refused by the schema, not the bound).
        string deep = new string('[', BoundedYamlParser.MaxDepth - 1) + new string(']', BoundedYamlParser.MaxDepth - 1);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([("n.yaml", deep)]));
        Assert.DoesNotContain("nesting deeper", e.Reason);
        Assert.Contains("a document must be a mapping", e.Reason);
    }

    [Fact]
    public void AliasBombIsAConfigErrorAtTheAliasThatCrossesTheLimit()
    {
        // Each level doubles the one before: 2^30 nodes if walked, 1.3 KB of text.
        var sb = new StringBuilder("a0: &a0 [x, x]\n");
        for (int i = 1; i <= 30; i++) sb.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([("laughs.yaml", sb.ToString())]));
        Assert.Contains($"aliases expand to more than {BoundedYamlParser.MaxAliasExpansion} nodes", e.Reason);
        Assert.InRange(e.Location.Line, 14, 18);   // 2^15 × 3 events ≈ 100 000
        Assert.Equal("laughs.yaml", e.Location.File);
    }

    [Fact]
    public void AFewAliasesAreFine()
    {
        // Anchors live within one document.
        const string pod = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: default, labels: &l {app: web}, annotations: *l}
            spec: {nodeName: node-a}
            status: {podIP: 198.19.1.10}
            """;
        var model = ConfigLoader.Load([("nodes.yaml", ConfigYaml.Nodes + "\n---\n" + ConfigYaml.Local), ("pods.yaml", pod)]);
        Assert.Equal("web", model.Pods.Single().Labels["app"]);
        Assert.Equal("web", model.Pods.Single().Annotations["app"]);
    }

    [Fact]
    public void OversizedFileIsRefusedBeforeItIsRead()
    {
        WriteValidCluster();
        using (var f = File.Create(_tmp["huge.yaml"])) f.SetLength(BoundedYamlParser.MaxFileBytes + 1);   // sparse: no disk used
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadDirectory(_tmp.Path));
        Assert.Equal(new SourceLocation(_tmp["huge.yaml"], 1, 1), e.Location);
        Assert.Contains($"more than the {BoundedYamlParser.MaxFileBytes >> 20} MiB", e.Reason);
    }

    [Fact]
    public async Task FifoAndDirectoriesInTheConfigDirectoryAreSkippedNotRead()
    {
        WriteValidCluster();
        var mkfifo = Sh.Run("mkfifo", _tmp["pipe.yaml"]);
        Assert.True(mkfifo.ExitCode == 0, mkfifo.Output);
        Directory.CreateDirectory(_tmp["dir.yaml"]);
        // A link to a regular file is read (ConfigMap volumes are links); a dangling one is skipped.
        File.WriteAllText(_tmp[".data-ns"], "apiVersion: v1\nkind: Namespace\nmetadata: {name: linked}\n");
        File.CreateSymbolicLink(_tmp["ns.yaml"], _tmp[".data-ns"]);
        File.CreateSymbolicLink(_tmp["gone.yaml"], _tmp["nowhere"]);

        var load = Task.Run(() => ConfigLoader.LoadDirectory(_tmp.Path));
        try
        {
            var model = await load.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains(model.Namespaces, n => n.Name == "linked");
        }
        catch (TimeoutException)
        {
            using (File.OpenWrite(_tmp["pipe.yaml"])) { }   // unblock the reader before failing
            Assert.Fail("the loader blocked on a FIFO");
        }
    }

    /// <summary>As the issue ran it: the binary, not the library — exit 2 and one line naming file:line:column.</summary>
    [Fact]
    public void NestedFileIsAConfigErrorForRunAndReplay()
    {
        WriteValidCluster();
        File.WriteAllText(_tmp["deep.yaml"], DeepFlow);
        string node = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        string expected = $"error: {_tmp["deep.yaml"]}:1:{BoundedYamlParser.MaxDepth + 1}: nesting deeper than";

        var replay = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", [node, "replay", "--config", _tmp.Path, "--in", _tmp["in.pcap"], "--out", _tmp["out.pcap"]], stdin: null);
        Assert.True(replay.ExitCode == 2, $"replay exit {replay.ExitCode}: {replay.Stderr}");
        Assert.StartsWith(expected, replay.Stderr);
        Assert.Single(replay.Stderr.TrimEnd().Split('\n'));
        Assert.False(File.Exists(_tmp["out.pcap"]));

        var run = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", [node, "run", "--config", _tmp.Path, "--socket", "", "--state-dir", _tmp["state"]], stdin: null);
        Assert.True(run.ExitCode == 2, $"run exit {run.ExitCode}: {run.Stderr}");
        // `run` says it in its start-up error form, "dataplane-node: WHAT: WHY" (docs/node-agent.md).
        Assert.StartsWith("dataplane-node: --config ", run.Stderr);
        Assert.Contains(expected["error: ".Length..], run.Stderr);
        Assert.Single(run.Stderr.TrimEnd().Split('\n'));
    }
}
