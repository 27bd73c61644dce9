using Dataplane.Core.Overlay;

namespace Dataplane.Core.Tests.Overlay;

/// <summary>
/// A received VNI is a source identity over Cilium's whole 24-bit space: Cluster Mesh identities carry the cluster
/// ID in their top 8 bits, so cluster 3's pod identity 0x03_0009 must be valid where it is known, and only then.
/// </summary>
public class VniRangeTests
{
    [Fact]
    public void KnownIdentitiesOfEveryClusterAreValidVnisAndNothingElse()
    {
        uint c3 = (3u << 16) + 9, c255 = (255u << 16) + 0xffff;
        var o = new OverlayState(validIdentities: [1, 6, 256, c3, c255, 1u << 24]);
        foreach (uint vni in new[] { 1u, 6u, 256u, c3, c255 }) Assert.True(o.IsValidVni(vni), $"{vni:x}");
        // Neighbours in the same page and the same slot of other pages, beyond 24 bits, and zero.
        foreach (uint vni in new[] { 0u, 2u, 257u, c3 + 1, c3 - 1, (4u << 16) + 9, 9u, (255u << 16) + 0xfffe, 1u << 24, uint.MaxValue })
            Assert.False(o.IsValidVni(vni), $"{vni:x}");
        Assert.False(OverlayState.Empty.IsValidVni(c3));
    }
}
