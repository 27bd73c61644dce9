using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>CiliumLoadBalancerIPPool</c> (cluster-scoped): spec.blocks[] {cidr | start[, stop]}, serviceSelector,
/// disabled, allowFirstLastIPs ("Yes" | "No"; Yes when unset, as in current Cilium).
/// </summary>
internal static class LbIpPoolParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("blocks", "cidrs", "serviceSelector", "disabled", "allowFirstLastIPs");
        // Cilium before 1.15 called the list "cidrs"; both hold the same entries.
        var list = spec.TryGet("blocks", out var b) ? b : spec.TryGet("cidrs", out var c) ? c : spec.Get("blocks");
        var blocks = ImmutableArray.CreateBuilder<LbIpBlockSpec>();
        foreach (var item in list.Items())
        {
            item.AllowOnly("cidr", "start", "stop");
            LbIpBlockSpec block;
            if (item.TryGet("cidr", out var cidrNode))
            {
                if (item.TryGet("start", out var s)) throw s.Error("a block has either cidr or start/stop");
                var net = cidrNode.Cidr();
                block = new LbIpBlockSpec(net.BaseAddress, LbIpRange.Last(net), true, cidrNode.At);
            }
            else
            {
                var startNode = item.Get("start");
                var start = startNode.Ip();
                var stop = item.TryGet("stop", out var stopNode) ? stopNode.Ip() : start;
                if (stop.AddressFamily != start.AddressFamily) throw stopNode.Error($"stop {stop} is not the family of start {start}");
                if (LbIpRange.Compare(start, stop) > 0) throw stopNode.Error($"stop {stop} is before start {start}");
                block = new LbIpBlockSpec(start, stop, false, item.At);
            }
            foreach (var other in blocks)
                if (LbIpRange.Overlaps(block, other))
                    throw new ConfigException(block.Source, $"block {LbIpRange.Format(block)} overlaps block {LbIpRange.Format(other)} of the same pool");
            blocks.Add(block);
        }
        if (blocks.Count == 0) throw list.Error("at least one block is required");
        EndpointSelector? selector = spec.TryGet("serviceSelector", out var sel) ? PolicyParser.ParseSelector(sel) : null;
        bool disabled = spec.TryGet("disabled", out var d) && PolicyParser.Bool(d);
        bool firstLast = true;
        if (spec.TryGet("allowFirstLastIPs", out var fl))
        {
            firstLast = fl.String() switch
            {
                "Yes" => true,
                "No" => false,
                var x => throw fl.Error($"must be Yes or No, got '{x}'"),
            };
        }
        into.LbIpPools.Add(new LbIpPoolSpec(doc.Name, blocks.ToImmutable(), selector, disabled, firstLast, doc.Source));
    }
}
