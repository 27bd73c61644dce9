using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Cni.Cni;
using Xunit.Abstractions;

namespace Dataplane.Cni.Tests;

/// <summary>
/// A bounded random test of the plugin process as a runtime drives it (<see cref="CniMain.Run"/>: environment
/// and stdin in, stdout, stderr and exit code out): random commands, container ids, interface names and CNI_ARGS
/// (newlines, controls, '/', overlong), network configurations mutated byte-wise and structurally. Every run must
/// answer with exactly one line of JSON (a result, or an error with the spec's code and a message), one line on
/// stderr at most, and never an internal error. The agent socket, IPAM directory and netns point into a temporary
/// directory, so nothing outside it is touched. Fixed seed; a fixed first stretch of inputs, then more while the
/// budget lasts.
/// </summary>
public sealed class CniFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int MinIterations = 300;
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("DATAPLANE_FUZZ_SEED"), out int s) ? s : 0x5EED_0CA1;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("DATAPLANE_FUZZ_SECONDS"), out int b) ? b : 6);

    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-cni-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Seeds = """
        {"cniVersion":"1.0.0","name":"pods","type":"dataplane-cni","namespace":"default","mtu":1500,"ipam":{"subnets":["198.18.64.0/24","fd00:18::/64"]},"runtimeConfig":{"labels":[{"key":"tier","value":"db"}]},"args":{"cni":{"labels":[{"key":"app.kubernetes.io/name","value":"web"}]}}}
        {"cniVersion":"0.3.1","name":"n","type":"dataplane-cni"}
        {"cniVersion":"0.4.0","name":"n","ipam":{}}
        {"cniVersion":"1.0.0","name":"n","prevResult":{"ips":[{"address":"198.18.64.2/24"}]}}
        """;

    private static readonly string[] Junk =
        ["", "\n", "\r\n", "\0", "/", "..", ":", ";", "=", " ", "\t", "\u00e9", "\uFFFD", "a/b", "x\ny", new string('a', 300), "0", "-1", "ABC_def.1-2"];

    [Fact]
    public void RandomEnvironmentsAndConfigurationsAlwaysGetOneJsonAnswer()
    {
        var rng = new Random(Seed);
        var seeds = Seeds.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string netns = Path.Combine(_dir, "netns");   // exists, but is no namespace
        File.WriteAllText(netns, "");
        var deadline = DateTime.UtcNow + Budget;
        var codes = new SortedDictionary<int, int>();
        int i = 0;
        for (; i < MinIterations || DateTime.UtcNow < deadline; i++)
        {
            var env = new Dictionary<string, string?>
            {
                ["CNI_COMMAND"] = Pick(rng, ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC", "add", Str(rng)]),
                ["CNI_CONTAINERID"] = Mostly(rng, ["c0ffee", "0123456789abcdef0123456789abcdef", "pod_1.a-b", Str(rng), null!]),
                ["CNI_IFNAME"] = Mostly(rng, ["eth0", "net1", "a-fifteen-chars", Str(rng), null!]),
                ["CNI_NETNS"] = Mostly(rng, [netns, Path.Combine(_dir, "missing"), Str(rng), null!]),
                ["CNI_ARGS"] = Mostly(rng, ["IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web", $"K8S_POD_NAME={Str(rng)}",
                    $"K8S_POD_NAMESPACE={Str(rng)};K8S_POD_NAME=web", Str(rng), null!]),
                ["CNI_PATH"] = "/opt/cni/bin",
            };
            string stdin = Confine(Mutate(rng, seeds[rng.Next(seeds.Length)]));
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = CniMain.Run(k => env.GetValueOrDefault(k), new StringReader(stdin), stdout, stderr);

            string context = $"seed {Seed:x}, iteration {i}: env {JsonSerializer.Serialize(env)}, stdin {JsonSerializer.Serialize(stdin)}";
            Assert.True(exit is 0 or 1, $"exit {exit}; {context}");
            string[] lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length <= 1, $"{lines.Length} lines on stdout; {context}");
            Assert.DoesNotContain("internal error", stderr.ToString());
            Assert.True(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 1, $"stderr '{stderr}'; {context}");
            if (exit == 1)
            {
                var error = JsonNode.Parse(lines.Single())!.AsObject();
                int code = error["code"]!.GetValue<int>();
                Assert.True(code is >= 1 and <= 11 or >= 100, $"code {code}; {context}");
                Assert.False(string.IsNullOrEmpty(error["msg"]!.GetValue<string>()), context);
                codes[code] = codes.GetValueOrDefault(code) + 1;
            }
            else if (lines.Length == 1)
                Assert.NotNull(JsonNode.Parse(lines[0])!["cniVersion"]);
        }
        output.WriteLine($"{i} runs; error codes: {string.Join(", ", codes.Select(c => $"{c.Key}×{c.Value}"))}");
        // The inputs reach past parsing: environment, decode, config and "agent not there" errors all occur.
        Assert.True(codes.ContainsKey(CniCode.InvalidEnvironment) && codes.ContainsKey(CniCode.DecodeFailure)
                    && codes.ContainsKey(CniCode.InvalidNetworkConfig) && codes.ContainsKey(CniCode.TryAgainLater),
            string.Join(", ", codes.Keys));
    }

    private static T Pick<T>(Random rng, T[] options) => options[rng.Next(options.Length)];

    /// <summary>The first (valid) option three times in four, so most runs get past the environment checks.</summary>
    private static T Mostly<T>(Random rng, T[] options) => rng.Next(4) != 0 ? options[0] : Pick(rng, options);

    private static string Str(Random rng)
    {
        var sb = new StringBuilder();
        int parts = 1 + rng.Next(3);
        for (int p = 0; p < parts; p++) sb.Append(rng.Next(3) == 0 ? Junk[rng.Next(Junk.Length)] : ((char)rng.Next(0x21, 0x7F)).ToString());
        return sb.ToString();
    }

    private static string Mutate(Random rng, string json)
    {
        var sb = new StringBuilder(json);
        int rounds = rng.Next(4);
        for (int r = 0; r < rounds && sb.Length > 0; r++)
        {
            int at = rng.Next(sb.Length);
            switch (rng.Next(5))
            {
                case 0: sb[at] = (char)rng.Next(0x20, 0x7F); break;
                case 1: sb.Insert(at, Pick(rng, ["{", "}", "[", "]", ",", ":", "\"", "null", "1e999", "-0", "\"\\u0000\"", "[[[[[[[[[["])); break;
                case 2: sb.Remove(at, Math.Min(sb.Length - at, 1 + rng.Next(8))); break;
                case 3: sb.Length = at; break;
                default: sb.Insert(at, Junk[rng.Next(Junk.Length)]); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Whatever still parses is pointed at this test's directory: no agent socket or IPAM store of the machine is touched.</summary>
    private string Confine(string stdin)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(stdin, documentOptions: NetConf.StrictJson); }
        catch (JsonException) { return stdin; }
        if (root is not JsonObject o) return stdin;
        o["agentSocket"] = Path.Combine(_dir, "agent.sock");
        if (o["ipam"] is JsonObject ipam) ipam["dataDir"] = Path.Combine(_dir, "ipam");
        else if (o["ipam"] is null) o["ipam"] = new JsonObject { ["dataDir"] = Path.Combine(_dir, "ipam") };
        return o.ToJsonString();
    }
}
