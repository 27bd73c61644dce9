using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Core.Encryption;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Transparent encryption's peers, the way Cilium derives them: every other node that publishes a WireGuard public
/// key (the Node annotation <c>network.cilium.io/wg-pub-key</c>; Cluster Mesh nodes carry theirs the same way) is a
/// peer at its InternalIP, port 51871, with AllowedIPs = its InternalIPs and pod CIDRs. A node without a key is no
/// peer: its traffic leaves in clear, or (strict mode) not at all.
/// </summary>
public static class EncryptionCompiler
{
    public static EncryptionPlan Compile(ConfigModel model)
    {
        var spec = model.Local.Encryption;
        if (!spec.Enabled) return EncryptionPlan.Disabled;
        var underlay6 = model.Local.Overlay?.UnderlayIpv6 ?? false;
        var peers = ImmutableArray.CreateBuilder<EncryptionPeer>();
        foreach (var node in model.Nodes.OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            if (node.Name == model.Local.Name || !node.Annotations.TryGetValue(EncryptionSpec.PublicKeyAnnotation, out var key)) continue;
            var family = underlay6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
            var endpoint = node.InternalIps.FirstOrDefault(ip => ip.AddressFamily == family) ?? node.InternalIps.FirstOrDefault();
            if (endpoint is null) continue;   // nowhere to send to: not a peer (and strict mode keeps its pods' traffic in)
            var allowed = node.InternalIps.Select(ip => new IPNetwork(ip, ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))
                .Concat(node.PodCidrs).Distinct().ToImmutableArray();
            peers.Add(new EncryptionPeer(node.Name, key.Trim(), endpoint, allowed));
        }
        return new EncryptionPlan(true, spec.StrictMode, EncryptionPlan.CiliumPort, peers.ToImmutable())
        {
            PersistentKeepalive = spec.PersistentKeepalive,
        };
    }
}
