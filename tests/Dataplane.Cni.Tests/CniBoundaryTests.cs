using Dataplane.Cni.Cni;
using Dataplane.Cni.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Cni.Tests;

/// <summary>
/// Issue 23 item 7: identifiers are validated at the CNI boundary. `dataplane-cni` run as a runtime runs it,
/// against a namespace, an IPAM store and an agent that would all accept the call, is handed hostile values —
/// path traversal, a 16-byte interface name, empty, newlines, a relative netns path, a network name that is a
/// path — and answers each with the spec's error code (4: invalid environment variables, 7: invalid network
/// configuration) as one JSON object and one log line, having made no file, no link and no registration. The
/// same call with plain values then does all three, so the refusals are not the setup failing.
/// </summary>
public sealed class CniBoundaryTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void HostileIdentifiersAreRefusedWithTheSpecsCodeAndLeaveNothingBehind()
    {
        Requires.RootAnd("ip");
        using var h = new CniHarness();
        string pod = h.NewPodNamespace("pod");
        string netns = CniHarness.NetnsPath(pod);
        string ok = "c0ffee01";
        var cases = new (string What, string? Id, string? Netns, string? IfName, string? Network, string? Args, int Code)[]
        {
            ("container id traversal", "../../x", netns, "eth0", null, null, CniCode.InvalidEnvironment),
            ("empty container id", "", netns, "eth0", null, null, CniCode.InvalidEnvironment),
            ("container id with a newline", "abc\nforged", netns, "eth0", null, null, CniCode.InvalidEnvironment),
            ("container id with a slash", "abc/def", netns, "eth0", null, null, CniCode.InvalidEnvironment),
            ("16-byte interface name", ok, netns, "abcdefghijklmnop", null, null, CniCode.InvalidEnvironment),
            ("interface name traversal", ok, netns, "../../x", null, null, CniCode.InvalidEnvironment),
            ("interface name ..", ok, netns, "..", null, null, CniCode.InvalidEnvironment),
            ("interface name with a colon", ok, netns, "eth0:1", null, null, CniCode.InvalidEnvironment),
            ("interface name with white space", ok, netns, "eth 0", null, null, CniCode.InvalidEnvironment),
            ("empty interface name", ok, netns, "", null, null, CniCode.InvalidEnvironment),
            ("relative netns path", ok, $"var/run/netns/{pod}", "eth0", null, null, CniCode.InvalidEnvironment),
            ("netns path with ..", ok, $"/var/run/netns/../netns/{pod}", "eth0", null, null, CniCode.InvalidEnvironment),
            ("netns path with a newline", ok, netns + "\nx", "eth0", null, null, CniCode.InvalidEnvironment),
            ("network name traversal", ok, netns, "eth0", "../../x", null, CniCode.InvalidNetworkConfig),
            ("network name leading dash", ok, netns, "eth0", "-pods", null, CniCode.InvalidNetworkConfig),
            ("network name with white space", ok, netns, "eth0", "my pods", null, CniCode.InvalidNetworkConfig),
            ("pod name traversal", ok, netns, "eth0", null, "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=../../x", CniCode.InvalidEnvironment),
            ("pod namespace with a newline", ok, netns, "eth0", null, "K8S_POD_NAMESPACE=shop\nx;K8S_POD_NAME=web", CniCode.InvalidEnvironment),
        };
        foreach (var c in cases)
        {
            var r = h.Plugin("ADD", c.Id, c.Netns, c.IfName, h.NetConf(c.Network), c.Args);
            string context = $"{c.What}: exit {r.ExitCode}, stdout {r.Stdout}, stderr {r.Stderr}";
            output.WriteLine(context);
            Assert.True(r.ExitCode == 1, context);
            Assert.Equal(c.Code, r.Code);
            Assert.Single(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.True(h.FilesMade().Count == 0, $"{c.What}: left {string.Join(", ", h.FilesMade())}");
            Assert.True(CniHarness.Links(h.NodeNs).Count == 0, $"{c.What}: left {string.Join(", ", CniHarness.Links(h.NodeNs))} on the node");
            Assert.True(CniHarness.Links(pod).Count == 0, $"{c.What}: left {string.Join(", ", CniHarness.Links(pod))} in the pod");
            Assert.True(h.Agent.Registrations.Count == 0, $"{c.What}: the agent was called");
        }

        // The control: plain values get the lease, the pair and the registration the refused calls did not.
        var added = h.Plugin("ADD", ok, netns, "eth0", h.NetConf(), "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web");
        Assert.True(added.ExitCode == 0, added.Stdout + added.Stderr);
        Assert.Single(h.Leases());
        Assert.Equal(["eth0"], CniHarness.Links(pod));
        Assert.Single(CniHarness.Links(h.NodeNs));
        Assert.Equal(ok, h.Agent.NextRegistration(TimeSpan.Zero)?.ContainerId);

        // DEL and CHECK check the same way, and a refused DEL leaves the real attachment alone.
        foreach (var (id, ifName) in new[] { ("../../x", "eth0"), (ok, "../eth0"), (ok, "abcdefghijklmnop") })
        {
            var del = h.Plugin("DEL", id, netns, ifName);
            Assert.True(del.ExitCode == 1 && del.Code == CniCode.InvalidEnvironment, del.Stdout + del.Stderr);
            var check = h.Plugin("CHECK", id, netns, ifName);
            Assert.True(check.ExitCode == 1 && check.Code == CniCode.InvalidEnvironment, check.Stdout + check.Stderr);
        }
        Assert.Single(h.Leases());
        Assert.Equal(["eth0"], CniHarness.Links(pod));
        Assert.Equal(0, h.Plugin("DEL", ok, netns, "eth0").ExitCode);
        Assert.Empty(h.Leases());
        Assert.Empty(CniHarness.Links(pod));
    }
}
