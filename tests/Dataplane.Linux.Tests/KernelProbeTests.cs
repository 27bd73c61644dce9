using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The capability probe behind every skip: it answers for each capability, says why when one is absent, and its
/// answers agree with the kernel asked again by hand in a namespace of the test's own; a requirement skips with
/// that reason exactly when the capability is absent and lets the test run when it is present.
/// </summary>
public sealed class KernelProbeTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void EveryCapabilityIsAnsweredAndAnAbsentOneSaysWhy()
    {
        var all = KernelProbe.Report.ToList();
        foreach (var c in all) output.WriteLine(c.ToString());
        Assert.Equal(8, all.Count);
        Assert.All(all.Where(c => !c.Present), c => Assert.False(string.IsNullOrWhiteSpace(c.Detail), c.Name));
    }

    [SkippableFact]
    public void TheProbeAgreesWithTheKernelAskedAgain()
    {
        Requires.RootAnd("ip");
        using var set = new NetnsSet("dpck");
        string ns = set.Add("again");
        bool dummy = Sh.Run("ip", "-n", ns, "link", "add", "again0", "type", "dummy").Ok;
        bool vrf = Sh.Run("ip", "-n", ns, "link", "add", "again1", "type", "vrf", "table", "7").Ok;
        bool seg6 = Sh.Run("ip", "-n", ns, "-6", "route", "add", "2001:db8:ffff::7/128", "encap", "seg6local", "action", "End", "dev", "lo").Ok;
        Assert.Equal(dummy, KernelProbe.Dummy.Present);
        Assert.Equal(vrf, KernelProbe.Vrf.Present);
        Assert.Equal(seg6, KernelProbe.Seg6Lwtunnel.Present);
    }

    [SkippableFact]
    public void ARequirementSkipsWithTheReasonOnlyWhenAbsent()
    {
        var absent = new Capability("frobnication", false, "`ip frob`: Error: Unknown device type.");
        var e = Assert.Throws<SkipException>(() => Requires.Kernel(absent));
        Assert.Equal("needs frobnication: `ip frob`: Error: Unknown device type.", e.Message);
        Requires.Kernel(new Capability("frobnication", true, "")); // present: returns, the test runs on
    }
}
