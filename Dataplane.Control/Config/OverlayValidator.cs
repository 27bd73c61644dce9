using System.Net;
using Dataplane.Core.Overlay;

namespace Dataplane.Control.Config;

/// <summary>
/// Overlay rules across documents: peers name existing remote Nodes once each, every SRv6 peer has a SID for
/// its traffic, local SIDs are not interface addresses, and each CiliumSRv6EgressPolicy belongs to a
/// CiliumSRv6VRF whose rules cover its destinations. Reachability of tunnel endpoints through the underlay is
/// checked when the snapshot is compiled (it needs the routes).
/// </summary>
internal static class OverlayValidator
{
    public static void Validate(ModelBuilder m, ParsedLocalNode local)
    {
        var overlay = local.Spec.Overlay;
        var nodes = m.Nodes.ToDictionary(n => n.Spec.Name, n => n.Spec, StringComparer.Ordinal);
        if (overlay is not null)
        {
            Peers(overlay, nodes, local.Spec.Name);
            SidsNotInterfaceAddresses(overlay, local.Spec);
        }
        RemoteSrv6NodesHaveSids(overlay, m, local.Spec.Name);
        EgressPoliciesInVrfs(m);
    }

    private static void Peers(OverlaySpec overlay, Dictionary<string, NodeSpec> nodes, string localName)
    {
        var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        foreach (var p in overlay.Peers)
        {
            string key = p.Node ?? p.Endpoint!.ToString();
            if (seen.TryGetValue(key, out var first))
                throw new ConfigException(p.Source, $"duplicate overlay peer {key} (first defined at {first})");
            seen.Add(key, p.Source);
            if (p.Node is null) continue;
            if (p.Node == localName) throw new ConfigException(p.Source, $"overlay peer {p.Node} is this node");
            if (!nodes.ContainsKey(p.Node))
                throw new ConfigException(p.Source, $"overlay peer {p.Node} names a Node that does not exist");
        }
    }

    private static void SidsNotInterfaceAddresses(OverlaySpec overlay, LocalNodeSpec local)
    {
        foreach (var s in overlay.Sids)
            foreach (var i in local.Interfaces)
                if (i.Addresses.Any(a => a.Address.Equals(s.Sid)))
                    throw new ConfigException(s.Source, $"SID {s.Sid} is an address of interface {i.Name}");
    }

    /// <summary>A remote node reached over SRv6 must advertise (or be given) a SID, or its pods are unreachable.</summary>
    private static void RemoteSrv6NodesHaveSids(OverlaySpec? overlay, ModelBuilder m, string localName)
    {
        foreach (var n in m.Nodes.Select(n => n.Spec).Where(n => n.Name != localName && !n.PodCidrs.IsEmpty))
        {
            var peer = overlay?.Peers.FirstOrDefault(p => p.Node == n.Name);
            var mode = peer?.Mode ?? n.Tunnel?.Mode ?? overlay?.Mode ?? TunnelMode.Native;
            if (mode != TunnelMode.Srv6) continue;
            bool has = (peer?.Sid4 ?? peer?.Sid6 ?? n.Tunnel?.Sid4 ?? n.Tunnel?.Sid6) is not null;
            if (!has)
                throw new ConfigException(peer?.Source ?? n.Source,
                    $"node {n.Name} is reached over SRv6 but has no SID: set sid4/sid6 on its overlay peer or the " +
                    "dataplane.io/srv6-sid4 / srv6-sid6 annotations on the Node");
        }
    }

    private static void EgressPoliciesInVrfs(ModelBuilder m)
    {
        var vrfs = new Dictionary<uint, Srv6VrfSpec>();
        foreach (var v in m.Srv6Vrfs)
        {
            if (vrfs.TryGetValue(v.VrfId, out var first))
                throw new ConfigException(v.Source, $"CiliumSRv6VRF {v.Name}: vrfID {v.VrfId} is also used by {first.Name}");
            vrfs.Add(v.VrfId, v);
        }
        var routed = new Dictionary<IPNetwork, Srv6EgressPolicySpec>();
        foreach (var p in m.Srv6EgressPolicies)
        {
            if (!vrfs.TryGetValue(p.VrfId, out var vrf))
                throw new ConfigException(p.VrfIdAt, $"CiliumSRv6EgressPolicy {p.Name}: no CiliumSRv6VRF has vrfID {p.VrfId}");
            for (int i = 0; i < p.DestinationCidrs.Length; i++)
            {
                var c = p.DestinationCidrs[i];
                if (!vrf.Rules.Any(r => r.DestinationCidrs.Any(d => d.PrefixLength <= c.PrefixLength && d.Contains(c.BaseAddress))))
                    throw new ConfigException(p.CidrAt[i],
                        $"CiliumSRv6EgressPolicy {p.Name}: {c} is outside the destinationCIDRs of CiliumSRv6VRF {vrf.Name}");
                // One routing table: the same destination cannot go to two SIDs.
                if (routed.TryGetValue(c, out var other))
                    throw new ConfigException(p.CidrAt[i],
                        $"CiliumSRv6EgressPolicy {p.Name}: {c} is already sent to {other.DestinationSid} by {other.Name}");
                routed.Add(c, p);
            }
        }
    }
}
