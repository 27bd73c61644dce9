using System.Net;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Core.Overlay;

namespace Dataplane.ClusterMesh.Model;

/// <summary>
/// How a node wants other clusters' nodes to tunnel to it, carried in its Node record's <c>Annotations</c> with the same
/// keys a v1 Node uses inside a cluster: <c>dataplane.io/tunnel: srv6</c> and its End.DT4/DT6/DT46 SIDs
/// (<c>dataplane.io/srv6-sid4</c> / <c>srv6-sid6</c>). A node says nothing (and is reached over VXLAN, Cluster Mesh's
/// default) unless its DataplaneNode's <c>overlay.mode</c> (or its Node's <c>dataplane.io/tunnel</c>) is srv6 and it has
/// such a SID — so turning SRv6 on across clusters is that one setting on each node.
/// </summary>
public static class NodeTunnelAnnotations
{
    public const string Tunnel = "dataplane.io/tunnel", Sid4 = "dataplane.io/srv6-sid4", Sid6 = "dataplane.io/srv6-sid6";

    /// <summary>What the model's own node publishes, or null (VXLAN).</summary>
    public static Dictionary<string, string>? Of(ConfigModel model)
    {
        var self = model.LocalNode;
        var ov = model.Local.Overlay;
        if ((self.Tunnel?.Mode ?? ov?.Mode) != TunnelMode.Srv6) return null;
        var sids = ov?.Sids ?? [];
        var sid4 = self.Tunnel?.Sid4 ?? sids.FirstOrDefault(s => s.Behavior is Srv6Behavior.EndDT4 or Srv6Behavior.EndDT46)?.Sid;
        var sid6 = self.Tunnel?.Sid6 ?? sids.FirstOrDefault(s => s.Behavior is Srv6Behavior.EndDT6 or Srv6Behavior.EndDT46)?.Sid;
        if (sid4 is null && sid6 is null) return null;
        var a = new Dictionary<string, string>(StringComparer.Ordinal) { [Tunnel] = "srv6" };
        if (sid4 is not null) a[Sid4] = sid4.ToString();
        if (sid6 is not null) a[Sid6] = sid6.ToString();
        return a;
    }

    /// <summary>A remote node's SRv6 request: its SIDs (IPv6 addresses; a malformed one is ignored), or null when it
    /// asks for none or names no usable SID — then it is reached over VXLAN.</summary>
    public static (IPAddress? Sid4, IPAddress? Sid6)? Srv6(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null || !annotations.TryGetValue(Tunnel, out var mode) || mode != "srv6") return null;
        var sid4 = Sid(annotations, Sid4);
        var sid6 = Sid(annotations, Sid6);
        return sid4 is null && sid6 is null ? null : (sid4, sid6);
    }

    private static IPAddress? Sid(IReadOnlyDictionary<string, string> a, string key) =>
        a.TryGetValue(key, out var v) && IPAddress.TryParse(v, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6
            && !ip.IsIPv6LinkLocal && !IPAddress.IsLoopback(ip) ? ip : null;
}
