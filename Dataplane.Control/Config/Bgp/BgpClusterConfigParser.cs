using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>CiliumBGPClusterConfig</c> (cluster-scoped): spec.nodeSelector and spec.bgpInstances[] {name, localASN,
/// peers[] {name, peerAddress, peerASN, peerConfigRef}}. Peers found by autoDiscovery are not supported: each
/// peer needs its address.
/// </summary>
internal static class BgpClusterConfigParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("nodeSelector", "bgpInstances");
        EndpointSelector? nodes = spec.TryGet("nodeSelector", out var ns) ? PolicyParser.ParseSelector(ns) : null;
        var instances = ImmutableArray.CreateBuilder<BgpInstanceSpec>();
        var list = spec.Get("bgpInstances");
        foreach (var item in list.Items())
        {
            item.AllowOnly("name", "localASN", "peers");
            var nameNode = item.Get("name");
            var name = item.RequiredString("name");
            if (instances.Any(i => i.Name == name)) throw nameNode.Error($"duplicate BGP instance '{name}'");
            var asn = BgpFields.Asn(item.Get("localASN"));
            var peers = ImmutableArray.CreateBuilder<BgpPeerSpec>();
            if (item.TryGet("peers", out var ps))
            {
                foreach (var p in ps.Items())
                {
                    if (p.TryGet("autoDiscovery", out var ad)) throw ad.Error("peer auto-discovery is not supported; set peerAddress");
                    p.AllowOnly("name", "peerAddress", "peerASN", "peerConfigRef");
                    var peerName = p.RequiredString("name");
                    if (peers.Any(x => x.Name == peerName)) throw p.Get("name").Error($"duplicate peer '{peerName}' in instance '{name}'");
                    var addrNode = p.Get("peerAddress");
                    var addr = addrNode.Ip();
                    if (peers.Any(x => x.Address.Equals(addr))) throw addrNode.Error($"peer address {addr} is already a peer of instance '{name}'");
                    var peerAsn = BgpFields.Asn(p.Get("peerASN"));
                    string? cfg = p.TryGet("peerConfigRef", out var r) ? BgpFields.Reference(r, "CiliumBGPPeerConfig") : null;
                    peers.Add(new BgpPeerSpec(peerName, addr, peerAsn, cfg, p.At));
                }
            }
            instances.Add(new BgpInstanceSpec(name, asn, peers.ToImmutable(), item.At));
        }
        if (instances.Count == 0) throw list.Error("at least one BGP instance is required");
        into.BgpClusterConfigs.Add(new BgpClusterConfigSpec(doc.Name, nodes, instances.ToImmutable(), doc.Source));
    }
}
