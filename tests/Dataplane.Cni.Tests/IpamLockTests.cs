using Dataplane.Cni.Cni;
using Dataplane.Cni.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Cni.Tests;

/// <summary>
/// Issue 23 item 7: the built-in IPAM's lock is held around the allocation only. One ADD whose registration with
/// the agent hangs (a slow agent on a loaded node) no longer stops another pod's ADD from getting its address;
/// concurrent ADDs still never share one; an ADD that fails after allocating gives its address back. The
/// plugin runs as separate processes, as a runtime starts it; the order of events is read from what the agent
/// received and from the leases on disk, never from a clock.
/// </summary>
public sealed class IpamLockTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void AnAddStuckInRegistrationDoesNotBlockAnotherAddsAllocation()
    {
        Requires.RootAnd("ip");
        using var h = new CniHarness();
        string slowNs = h.NewPodNamespace("slow"), fastNs = h.NewPodNamespace("fast");
        h.Agent.Hold("c-slow");
        var slow = Task.Run(() => h.Add("c-slow", slowNs));
        try
        {
            // The slow ADD has allocated and is now waiting in its registration.
            var first = h.Agent.NextRegistration(TimeSpan.FromSeconds(120));
            Assert.True(first?.ContainerId == "c-slow", "the slow ADD never reached the agent: " + (slow.IsCompleted ? slow.Result.Stdout + slow.Result.Stderr : "still running"));
            Assert.Contains(h.Leases().Values, v => v.StartsWith("c-slow\n", StringComparison.Ordinal));

            // Another pod's whole ADD — allocation included — completes while the first is still held.
            var fast = h.Add("c-fast", fastNs);
            output.WriteLine(fast.Stdout + fast.Stderr);
            Assert.True(fast.ExitCode == 0, "the second ADD failed while the first was in its registration: " + fast.Stdout + fast.Stderr);
            Assert.False(slow.IsCompleted, "the held ADD finished before it was released");

            h.Agent.Release("c-slow");
            var slowResult = slow.Result;
            Assert.True(slowResult.ExitCode == 0, slowResult.Stdout + slowResult.Stderr);
            Assert.NotEqual(slowResult.Address, fast.Address);
            Assert.Equal(first!.Ips, [slowResult.Address]);
        }
        finally
        {
            h.Agent.Release("c-slow");
            slow.Wait(TimeSpan.FromSeconds(120));
        }
    }

    [SkippableFact]
    public void ConcurrentAddsGetDistinctAddressesAndAFailedAddGivesItsAddressBack()
    {
        Requires.RootAnd("ip");
        using var h = new CniHarness();
        const int pods = 8;
        var namespaces = Enumerable.Range(0, pods).Select(i => h.NewPodNamespace($"p{i}")).ToArray();
        var adds = Enumerable.Range(0, pods).Select(i => Task.Run(() => h.Add($"c{i}", namespaces[i]))).ToArray();
        Task.WaitAll(adds);
        foreach (var a in adds) Assert.True(a.Result.ExitCode == 0, a.Result.Stdout + a.Result.Stderr);
        var addresses = adds.Select(a => a.Result.Address).ToList();
        output.WriteLine(string.Join(" ", addresses));
        Assert.Equal(pods, addresses.Distinct().Count());
        Assert.Equal(pods, h.Leases().Count);
        for (int i = 0; i < pods; i++)
            Assert.Contains($"inet {addresses[i]}/", Sh.Must("ip", "-n", namespaces[i], "-4", "addr", "show", "eth0"));

        // Refused by the agent after the address was allocated: the address, the pair and the record go again.
        string refusedNs = h.NewPodNamespace("ref");
        h.Agent.Refuse("c-refused");
        var refused = h.Add("c-refused", refusedNs);
        Assert.True(refused.ExitCode == 1, refused.Stdout + refused.Stderr);
        Assert.Equal(CniCode.Other, refused.Code);
        var seen = h.Agent.Registrations.ToList().Single(r => r.ContainerId == "c-refused");
        Assert.Single(seen.Ips);   // it did hold an address when it asked
        Assert.DoesNotContain(h.Leases().Values, v => v.StartsWith("c-refused\n", StringComparison.Ordinal));
        Assert.Equal(pods, h.Leases().Count);
        Assert.Empty(CniHarness.Links(refusedNs));
        Assert.Equal(pods, CniHarness.Links(h.NodeNs).Count);
        Assert.Equal(pods, Directory.GetFiles(Path.Combine(h.IpamDir, h.NetworkName, "attachments")).Length);
    }
}
