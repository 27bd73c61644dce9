using System.Collections.Immutable;
using System.Net.Sockets;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>CiliumBGPNodeConfigOverride</c> (cluster-scoped, named after its node): spec.bgpInstances[] {name,
/// routerID, localPort, localASN, peers[] {name, localAddress}}.
/// </summary>
internal static class BgpNodeOverrideParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("bgpInstances");
        var instances = ImmutableArray.CreateBuilder<BgpInstanceOverrideSpec>();
        foreach (var item in spec.Get("bgpInstances").Items())
        {
            item.AllowOnly("name", "routerID", "localPort", "localASN", "peers");
            var name = item.RequiredString("name");
            if (instances.Any(i => i.Name == name)) throw item.Get("name").Error($"duplicate BGP instance '{name}'");
            System.Net.IPAddress? routerId = null;
            if (item.TryGet("routerID", out var rid))
            {
                routerId = rid.Ip();
                if (routerId.AddressFamily != AddressFamily.InterNetwork) throw rid.Error("routerID must be an IPv4 address");
            }
            int? port = item.TryGet("localPort", out var lp) ? BgpFields.Port(lp) : null;
            uint? asn = item.TryGet("localASN", out var la) ? BgpFields.Asn(la) : null;
            var peers = ImmutableArray.CreateBuilder<BgpPeerOverrideSpec>();
            if (item.TryGet("peers", out var ps))
            {
                foreach (var p in ps.Items())
                {
                    p.AllowOnly("name", "localAddress");
                    var peer = p.RequiredString("name");
                    if (peers.Any(x => x.Name == peer)) throw p.Get("name").Error($"duplicate peer '{peer}'");
                    peers.Add(new BgpPeerOverrideSpec(peer, p.TryGet("localAddress", out var a) ? a.Ip() : null, p.At));
                }
            }
            instances.Add(new BgpInstanceOverrideSpec(name, routerId, port, asn, peers.ToImmutable(), item.At));
        }
        into.BgpNodeOverrides.Add(new BgpNodeOverrideSpec(doc.Name, instances.ToImmutable(), doc.Source));
    }
}
