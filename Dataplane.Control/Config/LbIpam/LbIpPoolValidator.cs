using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>Pools must not share addresses: one address in two pools could go to two services (Cilium marks such pools conflicting).</summary>
internal static class LbIpPoolValidator
{
    public static ImmutableArray<LbIpPoolSpec> Validate(ModelBuilder m)
    {
        for (int i = 0; i < m.LbIpPools.Count; i++)
            for (int j = 0; j < i; j++)
                foreach (var b in m.LbIpPools[i].Blocks)
                    foreach (var o in m.LbIpPools[j].Blocks)
                        if (LbIpRange.Overlaps(b, o))
                            throw new ConfigException(b.Source,
                                $"block {LbIpRange.Format(b)} of pool {m.LbIpPools[i].Name} overlaps block {LbIpRange.Format(o)} of pool {m.LbIpPools[j].Name}");
        return [.. m.LbIpPools];
    }
}
