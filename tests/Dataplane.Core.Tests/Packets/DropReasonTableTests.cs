using System.Text.RegularExpressions;
using Dataplane.Core.Drops;

namespace Dataplane.Core.Tests.Packets;

/// <summary>
/// The drop reason table is the one place codes meet their names: it covers the enum exactly, in code order, with
/// names spelled the way Cilium, Hubble and the metric spell them. (The BPF side is compared with it by
/// Dataplane.Ebpf.Tests' ConstantsTests.)
/// </summary>
public sealed partial class DropReasonTableTests
{
    [Fact]
    public void EveryReasonHasExactlyOneRowInCodeOrder()
    {
        var rows = DropReasonTable.Rows.ToArray();
        var reasons = Enum.GetValues<DropReason>().Where(r => r != DropReason.None).ToArray();
        Assert.Equal(reasons, rows.Select(r => r.Reason).ToArray());
        for (int i = 1; i < rows.Length; i++)
            Assert.True(rows[i - 1].Reason < rows[i].Reason, $"{rows[i].Reason} is out of code order");
        // Cilium's drop codes start at 130 (below are its other error codes) and fit the byte a packet carries.
        Assert.All(rows, r => Assert.InRange((int)r.Reason, 130, 255));
    }

    [Fact]
    public void NamesAreSpelledAsCiliumAndUnique()
    {
        var rows = DropReasonTable.Rows.ToArray();
        Assert.All(rows, r => Assert.Matches(CiliumName(), r.CiliumName));
        Assert.All(rows, r => Assert.Matches(HubbleName(), r.HubbleName));
        Assert.All(rows, r => Assert.False(string.IsNullOrWhiteSpace(r.MetricText), $"{r.Reason} has no metric text"));
        Assert.Equal(rows.Length, rows.Select(r => r.CiliumName).Distinct().Count());
        Assert.Equal(rows.Length, rows.Select(r => r.HubbleName).Distinct().Count());
    }

    [Fact]
    public void LookupsFindTheRowAndNameUnknownCodesAsCiliumDoes()
    {
        Assert.Equal("POLICY_DENIED", DropReasonNames.Describe(DropReason.PolicyDenied));
        Assert.Equal("Policy denied by denylist", DropReasonMetricNames.Describe(DropReason.PolicyDeny));
        Assert.Equal("DROP_NO_FIB", DropReasonTable.CiliumName(DropReason.FibLookupFailed));
        // 140 (missed tail call) is not a reason this project produces: Hubble's unknown, the monitor's number.
        Assert.Equal("DROP_REASON_UNKNOWN", DropReasonNames.Describe((DropReason)140));
        Assert.Equal("140", DropReasonMetricNames.Describe((DropReason)140));
        Assert.Null(DropReasonTable.CiliumName(DropReason.None));
    }

    [GeneratedRegex("^DROP_[A-Z0-9_]+$")]
    private static partial Regex CiliumName();

    [GeneratedRegex("^[A-Z][A-Z0-9_]+$")]
    private static partial Regex HubbleName();
}
