namespace Dataplane.Core.Tests.Policy;

/// <summary>Runs every <see cref="ConformanceScenarios"/> scenario through the loader, compiler and pipeline.</summary>
public class ConformanceTests
{
    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var s in ConformanceScenarios.All) d.Add(s.Name);
        return d;
    }

    [Fact]
    public void SingleStackWorldIsIdentityTwo()
    {
        using var c = new PolicyCluster("", singleStack: true);
        Assert.Equal(2u, c.Send("prod/web", "8.8.8.8", "tcp", 443).DstIdentity);
    }

    [Fact]
    public void AtLeastSixtyDistinctScenarios()
    {
        Assert.True(ConformanceScenarios.All.Length >= 60, $"only {ConformanceScenarios.All.Length} scenarios");
        Assert.Equal(ConformanceScenarios.All.Length, ConformanceScenarios.All.Select(s => s.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Scenario(string name)
    {
        var s = ConformanceScenarios.All.Single(x => x.Name == name);
        using var cluster = new PolicyCluster(s.Yaml, s.Enforcement, s.SingleStack);
        var failures = new List<string>();
        foreach (var probe in s.Probes)
        {
            // "from > to proto port [v6] = expect"
            var (lhs, expectText) = (probe[..probe.IndexOf('=')].Trim(), probe[(probe.IndexOf('=') + 1)..].Trim());
            var parts = lhs.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(">", parts[1]);
            bool v6 = parts.Length > 5 && parts[5] == "v6";
            var meta = cluster.Send(parts[0], parts[2], parts[3], int.Parse(parts[4]), v6);
            var expected = expectText switch { "allow" => Expect.Allow, "133" => Expect.NoAllow, "181" => Expect.Deny, _ => throw new ArgumentException(expectText) };
            var got = PolicyCluster.Outcome(meta);
            if (got != expected)
                failures.Add($"{probe}: got {got} (src identity {meta.SrcIdentity}, dst identity {meta.DstIdentity}, rules {meta.PolicyRule}/{meta.IngressPolicyRule})");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
