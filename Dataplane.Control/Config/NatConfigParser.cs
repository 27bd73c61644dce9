using Dataplane.Core.Services;

namespace Dataplane.Control.Config;

/// <summary>The DataplaneNode's spec.masquerade and spec.loadBalancing sections.</summary>
internal static class NatConfigParser
{
    public static MasqueradeSpec Masquerade(YNode m)
    {
        m.AllowOnly("enabled", "nonMasqueradeCIDRs", "portRange");
        bool enabled = true;
        if (m.TryGet("enabled", out var e))
            enabled = e.String() switch { "true" => true, "false" => false, var x => throw e.Error($"expected true or false, got '{x}'") };
        var cidrs = System.Collections.Immutable.ImmutableArray.CreateBuilder<System.Net.IPNetwork>();
        if (m.TryGet("nonMasqueradeCIDRs", out var list))
            foreach (var c in list.Items()) cidrs.Add(c.Cidr());
        ushort min = MasqueradeSpec.Disabled.PortMin, max = MasqueradeSpec.Disabled.PortMax;
        if (m.TryGet("portRange", out var pr))
        {
            pr.AllowOnly("min", "max");
            min = (ushort)pr.Get("min").Int(1024, 65535);
            var maxNode = pr.Get("max");
            max = (ushort)maxNode.Int(1024, 65535);
            if (max < min) throw maxNode.Error($"max {max} is below min {min}");
        }
        return new MasqueradeSpec(enabled, cidrs.ToImmutable(), min, max);
    }

    public static LoadBalancingSpec LoadBalancing(YNode l)
    {
        l.AllowOnly("algorithm", "maglevTableSize");
        var alg = LoadBalancingSpec.Default.Algorithm;
        if (l.TryGet("algorithm", out var a))
            alg = a.String() switch
            {
                "random" => LbAlgorithm.Random,
                "maglev" => LbAlgorithm.Maglev,
                var x => throw a.Error($"must be random or maglev, got '{x}'"),
            };
        int size = LoadBalancingSpec.Default.MaglevTableSize;
        if (l.TryGet("maglevTableSize", out var s))
        {
            size = s.Int(251, 131071);
            if (!Maglev.IsPrime(size)) throw s.Error($"maglevTableSize {size} must be prime (Cilium's choices: 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071)");
        }
        return new LoadBalancingSpec(alg, size);
    }
}
