using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Every policy conformance scenario (the 97 the C# pipeline is held to) through both pipelines: the BPF
/// program must give the scenario's expected outcome and agree with the C# pipeline on bytes, action, drop
/// reason, identities, endpoints, rules and direction — statelessly and with conntrack.
/// </summary>
public class ConformanceDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var s in ConformanceScenarios.All) d.Add(s.Name);
        return d;
    }

    [SkippableTheory]
    [MemberData(nameof(Names))]
    public void Scenario(string name)
    {
        DatapathFixture.RequireRoot();
        var s = ConformanceScenarios.All.Single(x => x.Name == name);
        using var cluster = new PolicyCluster(s.Yaml, s.Enforcement, s.SingleStack);
        var failures = new List<string>();
        foreach (bool tracked in new[] { false, true })
        {
            var dp = tracked ? fixture.Tracked : fixture.Stateless;
            using var dual = new DualPipeline(dp, cluster.Snapshot, tracked ? DatapathFixture.CtFlows : 0) { Hook = fixture.Hook };
            foreach (var probe in s.Probes)
            {
                var (lhs, expectText) = (probe[..probe.IndexOf('=')].Trim(), probe[(probe.IndexOf('=') + 1)..].Trim());
                var parts = lhs.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                bool v6 = parts.Length > 5 && parts[5] == "v6";
                var (frame, inPort) = ProbeFrames.Build(cluster, parts[0], parts[2], parts[3], int.Parse(parts[4]), v6);
                string? diff = dual.Compare(frame, inPort, 1_000_000);
                if (diff != null) { failures.Add($"{(tracked ? "conntrack" : "stateless")} {probe}:\n{diff}"); continue; }
                var v = dual.LastBpf!.Verdict;
                string got = v.Verdict == 2 ? v.DropReason.ToString() : "allow";
                // With conntrack, a probe repeating an earlier allowed one's tuple belongs to that connection.
                bool knownConnection = v.CtState is (byte)Core.Packets.CtState.Established or (byte)Core.Packets.CtState.Reply;
                if (got != expectText && !(tracked && knownConnection))
                    failures.Add($"{(tracked ? "conntrack" : "stateless")} {probe}: BPF gave {got}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class ConformanceDifferentialTcTests(TcDatapathFixture fixture) : ConformanceDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
