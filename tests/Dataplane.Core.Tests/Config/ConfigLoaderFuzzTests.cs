using System.Text;
using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Testing.Fixtures;
using Dataplane.Testing.Processes;
using Xunit.Abstractions;

namespace Dataplane.Core.Tests.Config;

/// <summary>
/// A bounded random test of the config loader and compiler: valid manifests of every kind, mutated (bytes
/// flipped, YAML punctuation inserted, lines duplicated, swapped, truncated, spliced between files), must
/// either load or fail with a <see cref="ConfigException"/> — any other exception is a crash the agent would
/// die of. Fixed seed and a fixed budget (a fixed first stretch of inputs, then more while seconds remain), so it runs in CI on every build; a failure
/// prints the seed, the iteration and the input.
/// </summary>
public sealed class ConfigLoaderFuzzTests(ITestOutputHelper output)
{
    /// <summary>The first <see cref="MinIterations"/> inputs always run (the same ones on every machine); more while the budget lasts.</summary>
    private const int MinIterations = 300;
    /// <summary>DATAPLANE_FUZZ_SEED and DATAPLANE_FUZZ_SECONDS run a longer search locally; CI uses the defaults.</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("DATAPLANE_FUZZ_SEED"), out int s) ? s : 0x5EED_0023;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("DATAPLANE_FUZZ_SECONDS"), out int b) ? b : 8);
    private static readonly int Iterations = Budget.TotalSeconds > 8 ? int.MaxValue : 20_000;

    private static readonly string[] Punctuation =
        ["[", "]", "{", "}", ":", ": ", "- ", ",", "&a ", "*a", "!!str ", "!!binary ", "? ", "|", ">", "\"", "'", "#", "\t", "\n", "\n  ",
         "---\n", "...\n", "%YAML 1.2\n", "~", "null", "0x", "-1", "99999999999999999999", "1e400", ".nan", "::", "/33", "\u00e9", "\0", "\uFFFF"];

    /// <summary>Valid configurations (each a set of files that loads and compiles as it is) covering every kind.</summary>
    private static List<List<(string File, string Text)>> Corpus()
    {
        var example = Directory.EnumerateFiles(Path.Combine(Sh.RepoRoot, "examples", "replay", "config"), "*.yaml")
            .Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllText(f))).ToList();
        return
        [
            example,
            [.. example.Where(f => f.Item1 != "policy.yaml"), ("20-policy.yaml", Policy), ("30-egw.yaml", EgressGateway)],
            [("base.yaml", ServiceCluster.Base),
             ("docs.yaml", ServiceYaml.Docs(ServiceYaml.Web, ServiceYaml.WebSlice("web"), ServiceYaml.WebSlice6("web"),
                 ServiceYaml.Service("lb", "  type: LoadBalancer\n  clusterIP: 198.18.50.20\n  externalTrafficPolicy: Local\n  sessionAffinity: ClientIP\n  ports: [{port: 443, nodePort: 30443}]\n  selector: {app: web}")))],
            [("overlay.yaml", OverlayNode.Yaml())],
            [.. example, ("40-bgp.yaml", BgpConfigTests.Bgp), ("50-lb.yaml", LbIpamTests.PoolAndService)],
        ];
    }

    private const string EgressGateway = """
        apiVersion: cilium.io/v2
        kind: CiliumEgressGatewayPolicy
        metadata: {name: egw}
        spec:
          selectors: [{podSelector: {matchLabels: {app: x}}}]
          destinationCIDRs: [0.0.0.0/0]
          excludedCIDRs: [198.18.0.0/15]
          egressGateway: {nodeSelector: {matchLabels: {kubernetes.io/hostname: node-a}}, interface: eth0}
        """;

    private const string Policy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: p, namespace: prod}
        spec:
          endpointSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}
          ingress:
          - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: prod}}]
            toPorts: [{ports: [{port: "80", endPort: 90, protocol: TCP}]}]
          - fromCIDRSet: [{cidr: 198.18.0.0/15, except: [198.18.1.0/24]}]
          ingressDeny: [{fromEntities: [world]}]
          egress: [{toEntities: [cluster], toPorts: [{ports: [{port: "53", protocol: ANY}]}]}]
        """;

    [Fact]
    public void MutatedManifestsLoadOrFailWithAConfigError()
    {
        var corpus = Corpus();
        foreach (var set in corpus) SnapshotCompiler.Compile(ConfigLoader.Load(set));   // the seeds are valid
        var texts = corpus.SelectMany(set => set.Select(f => f.Text)).ToList();
        var rng = new Random(Seed);
        var deadline = DateTime.UtcNow + Budget;
        int loaded = 0, refused = 0, i = 0;
        for (; i < Iterations && (i < MinIterations || DateTime.UtcNow < deadline); i++)
        {
            // One file of a valid set mutated, so mutations that still parse reach the validator and compiler too.
            var files = corpus[rng.Next(corpus.Count)].ToList();
            int victim = rng.Next(files.Count);
            string mutated = Mutate(rng, files[victim].Text, texts);
            files[victim] = (files[victim].File, mutated);
            try
            {
                SnapshotCompiler.Compile(ConfigLoader.Load(files));
                loaded++;
            }
            catch (ConfigException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {Seed:x}, iteration {i}: {e.GetType().Name} instead of a config error: {e}\n--- {files[victim].File} ---\n{mutated}");
            }
        }
        output.WriteLine($"{i} inputs: {loaded} loaded, {refused} refused with a config error");
        Assert.True(loaded > 0 && refused > 0, "the mutations should produce both outcomes");
    }

    internal static string Mutate(Random rng, string text, IReadOnlyList<string> corpus)
    {
        var sb = new StringBuilder(text);
        int rounds = 1 + rng.Next(4);
        for (int r = 0; r < rounds && sb.Length > 0; r++)
        {
            int at = rng.Next(sb.Length);
            switch (rng.Next(7))
            {
                case 0: sb[at] = (char)rng.Next(0x20, 0x7F); break;
                case 1: sb.Insert(at, Punctuation[rng.Next(Punctuation.Length)]); break;
                case 2: sb.Remove(at, Math.Min(sb.Length - at, 1 + rng.Next(16))); break;
                case 3: sb.Length = at; break;
                case 4:
                {
                    var lines = sb.ToString().Split('\n').ToList();
                    int a = rng.Next(lines.Count), b = rng.Next(lines.Count);
                    if (rng.Next(2) == 0) lines.Insert(b, lines[a]);
                    else (lines[a], lines[b]) = (lines[b], lines[a]);
                    sb.Clear().Append(string.Join('\n', lines));
                    break;
                }
                case 5:
                {
                    var other = corpus[rng.Next(corpus.Count)];
                    int from = rng.Next(other.Length);
                    sb.Insert(at, other.AsSpan(from, Math.Min(other.Length - from, 1 + rng.Next(200))));
                    break;
                }
                default:
                    // A digit run replaced by a number at or past a boundary (ports, prefixes, MTU, VNIs).
                    string[] edges = ["0", "1", "65535", "65536", "4294967295", "4294967296", "-0", "128", "129", "255", "256", "16777216"];
                    sb.Insert(at, edges[rng.Next(edges.Length)]);
                    break;
            }
        }
        return sb.ToString();
    }
}
