using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Cilium;

/// <summary>
/// Applies a <see cref="CiliumBgpPlan"/> to a running speaker: adds and removes peers, installs each peer's
/// export policy (its own routes and attributes), announces what is new and withdraws what is gone. Call
/// it again whenever the CRDs, services or endpoint slices change; it is idempotent. Only the plan's
/// instance whose local ASN is the speaker's is applied (one speaker per BGP instance).
/// </summary>
public static class CiliumBgpReconciler
{
    public static async Task ApplyAsync(BgpSpeaker speaker, CiliumBgpPlan plan)
    {
        var wanted = plan.Peers.Where(p => p.LocalAsn == speaker.Config.LocalAs).ToList();
        foreach (var stale in speaker.Peers.Where(p => !wanted.Any(w => w.Config.Address.Equals(p.Config.Address))).ToList())
            await speaker.RemovePeerAsync(stale.Config.Address).ConfigureAwait(false);

        var union = new Dictionary<BgpPrefix, LocalRoute>();
        foreach (var w in wanted)
        {
            var peer = speaker.FindPeer(w.Config.Address);
            if (peer is not null && peer.Config != w.Config)
            {
                await speaker.RemovePeerAsync(w.Config.Address).ConfigureAwait(false);
                peer = null;
            }
            var routes = w.Routes;
            if (peer is null)
            {
                peer = speaker.AddPeer(w.Config, r => routes.GetValueOrDefault(r.Prefix));
            }
            else
            {
                peer.Export = r => routes.GetValueOrDefault(r.Prefix);
            }
            foreach (var (p, r) in routes) union.TryAdd(p, r);
        }
        var gone = speaker.LocalRoutes().Select(r => r.Prefix).Where(p => !union.ContainsKey(p)).ToArray();
        speaker.Withdraw(gone);
        // Re-announcing every route re-runs each peer's export policy, so per-peer changes take effect.
        speaker.Announce([.. union.Values]);
    }
}
