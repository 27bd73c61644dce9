using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>CiliumBGPPeerConfig</c> (cluster-scoped): transport.peerPort, timers (connectRetryTimeSeconds,
/// holdTimeSeconds, keepAliveTimeSeconds), authSecretRef (a Secret whose key <c>password</c> is the TCP MD5
/// key), gracefulRestart {enabled, restartTimeSeconds} and families[] {afi, safi, advertisements}. eBGP
/// multihop is not supported (peers are directly connected).
/// </summary>
internal static class BgpPeerConfigParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var cfg = new BgpPeerConfigSpec(doc.Name, doc.Source);
        if (!doc.Root.TryGet("spec", out var spec)) { into.BgpPeerConfigs.Add(cfg); return; }
        if (spec.TryGet("ebgpMultihop", out var mh) && mh.Int(1, 255) != 1)
            throw mh.Error("eBGP multihop is not supported (peers must be directly connected)");
        spec.AllowOnly("transport", "timers", "authSecretRef", "gracefulRestart", "families", "ebgpMultihop");
        if (spec.TryGet("transport", out var tr))
        {
            tr.AllowOnly("peerPort", "localPort");
            if (tr.TryGet("localPort", out var lp)) throw lp.Error("transport.localPort is not supported (Cilium v2 dropped it); use CiliumBGPNodeConfigOverride localPort");
            if (tr.TryGet("peerPort", out var pp)) cfg = cfg with { PeerPort = BgpFields.Port(pp) };
        }
        if (spec.TryGet("timers", out var t))
        {
            t.AllowOnly("connectRetryTimeSeconds", "holdTimeSeconds", "keepAliveTimeSeconds");
            if (t.TryGet("connectRetryTimeSeconds", out var cr)) cfg = cfg with { ConnectRetryTimeSeconds = (ushort)cr.Int(1, 65535) };
            if (t.TryGet("holdTimeSeconds", out var h)) cfg = cfg with { HoldTimeSeconds = (ushort)h.Int(3, 65535) };
            if (t.TryGet("keepAliveTimeSeconds", out var k)) cfg = cfg with { KeepAliveTimeSeconds = (ushort)k.Int(1, 65535) };
            if (cfg.KeepAliveTimeSeconds > cfg.HoldTimeSeconds)
                throw t.Error($"keepAliveTimeSeconds ({cfg.KeepAliveTimeSeconds}) must not exceed holdTimeSeconds ({cfg.HoldTimeSeconds})");
        }
        if (spec.TryGet("authSecretRef", out var auth))
        {
            var secret = auth.String();
            if (secret.Length == 0) throw auth.Error("must name a Secret");
            cfg = cfg with { AuthSecretRef = secret, AuthSecretAt = auth.At };
        }
        if (spec.TryGet("gracefulRestart", out var gr))
        {
            gr.AllowOnly("enabled", "restartTimeSeconds");
            cfg = cfg with { GracefulRestart = gr.TryGet("enabled", out var en) && PolicyParser.Bool(en) };
            if (gr.TryGet("restartTimeSeconds", out var rt)) cfg = cfg with { RestartTimeSeconds = (ushort)rt.Int(1, 4095) };
        }
        if (spec.TryGet("families", out var fams))
        {
            var list = ImmutableArray.CreateBuilder<BgpFamilySpec>();
            foreach (var f in fams.Items())
            {
                f.AllowOnly("afi", "safi", "advertisements");
                var afiNode = f.Get("afi");
                bool v6 = afiNode.String() switch
                {
                    "ipv4" => false,
                    "ipv6" => true,
                    var x => throw afiNode.Error($"afi must be ipv4 or ipv6, got '{x}'"),
                };
                var safiNode = f.Get("safi");
                if (safiNode.String() != "unicast") throw safiNode.Error($"only safi unicast is supported, got '{safiNode.String()}'");
                if (list.Any(x => x.Ipv6 == v6)) throw afiNode.Error($"family {afiNode.String()}/unicast is listed twice");
                list.Add(new BgpFamilySpec(v6, f.TryGet("advertisements", out var adv) ? PolicyParser.ParseSelector(adv) : null));
            }
            cfg = cfg with { Families = list.ToImmutable() };
        }
        into.BgpPeerConfigs.Add(cfg);
    }
}
