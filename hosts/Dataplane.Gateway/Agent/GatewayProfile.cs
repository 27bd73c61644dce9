using System.Collections.Immutable;
using System.Net;
using Dataplane.ClusterMesh.Services;
using Dataplane.Control.Config;
using Dataplane.Host.Agent;

namespace Dataplane.Gateway.Agent;

/// <summary>
/// What the transit gateway adds to the host runtime. Its configuration is the loader's kinds (DataplaneNode for
/// its interfaces, the cluster's Nodes, Pods and policies, Cilium's BGP v2 resources, ExternalWorkloads) plus
/// exactly one <c>DataplaneGateway</c>, checked by <see cref="GatewayRules"/>: a directory that breaks them is
/// refused whole. Its BGP announces the mesh's pod CIDRs (every other Node's) where a node announces its own, and
/// installs only learned routes inside the on-prem prefixes it serves; of the services, it serves the portal services'
/// VIPs.
/// </summary>
public sealed class GatewayProfile : HostProfile
{
    public override ConfigModel Load(string configDir)
    {
        var model = base.Load(configDir);
        GatewayRules.Check(model, new SourceLocation(configDir, 0, 0));
        return model;
    }

    public override ConfigReport Check(string configDir)
    {
        var report = base.Check(configDir);
        if (report.Model is not { } model) return report;
        try
        {
            GatewayRules.Check(model, new SourceLocation(configDir, 0, 0));
            return report;
        }
        catch (ConfigException e)
        {
            return report with { Errors = [.. report.Errors, e], Model = null };
        }
    }

    /// <summary>Portal services get their VIPs here; every other service keeps only its ClusterIPs (<see cref="PortalServices"/>).</summary>
    public override ConfigModel Extend(ConfigModel files) => PortalServices.OnGateway(files);

    private readonly MeshLiveness _liveness = new();

    /// <summary>The pod CIDRs of every other Node, except those of nodes the gateway cannot reach now (<see cref="MeshLiveness"/>).</summary>
    public override IEnumerable<IPNetwork>? AdvertisedPodCidrs(ConfigModel merged)
    {
        return GatewayRules.MeshPrefixes(merged, _liveness.Down);
    }

    /// <summary>A lost mesh announces no portal VIP either: their backends are all behind it.</summary>
    public override ConfigModel ForBgp(ConfigModel merged) => _liveness.MeshLost ? merged with { Services = [] } : merged;

    public override void Poll(HostAgent agent) => _liveness.Poll(agent);

    public override ImmutableArray<LearnedRouteSpec> AcceptLearned(ConfigModel merged, ImmutableArray<LearnedRouteSpec> learned)
    {
        var gw = GatewayRules.Gateway(merged);
        if (gw is null) return [];
        // A full table is a million routes, usually all inside the on-prem prefixes: kept as it is then, not copied.
        int firstOutside = 0;
        while (firstOutside < learned.Length && Serves(gw.OnPremPrefixes, learned[firstOutside].Prefix)) firstOutside++;
        if (firstOutside == learned.Length) return learned;
        var accepted = ImmutableArray.CreateBuilder<LearnedRouteSpec>(learned.Length);
        for (int i = 0; i < learned.Length; i++)
            if (i < firstOutside || (i > firstOutside && Serves(gw.OnPremPrefixes, learned[i].Prefix))) accepted.Add(learned[i]);
        return accepted.ToImmutable();
    }

    private static bool Serves(IReadOnlyList<IPNetwork> onPrem, IPNetwork learned)
    {
        foreach (var p in onPrem)
            if (p.PrefixLength <= learned.PrefixLength && p.Contains(learned.BaseAddress)) return true;
        return false;
    }
}
