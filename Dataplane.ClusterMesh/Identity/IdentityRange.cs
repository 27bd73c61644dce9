namespace Dataplane.ClusterMesh.Identity;

/// <summary>
/// The identities a cluster may allocate (pkg/identity/numericidentity.go): 24-bit identities, the top 8 bits
/// of which are the cluster ID — cluster N (1–255) allocates from N &lt;&lt; 16 to ((N + 1) &lt;&lt; 16) − 1;
/// a cluster without an ID (0) from 256 to 65535, keeping 1–255 for reserved identities.
/// </summary>
public static class IdentityRange
{
    public const int ClusterIdShift = 16;
    public const uint MaxClusterId = 255;

    public static uint Min(uint clusterId) => clusterId > 0 ? clusterId << ClusterIdShift : 256;

    public static uint Max(uint clusterId) => ((clusterId + 1) << ClusterIdShift) - 1;

    /// <summary>The cluster whose range holds the identity (0 for 256–65535 and for reserved ones).</summary>
    public static uint ClusterOf(uint identity) => (identity >> ClusterIdShift) & 0xFF;

    public static bool Contains(uint clusterId, uint identity) => identity >= Min(clusterId) && identity <= Max(clusterId);
}
