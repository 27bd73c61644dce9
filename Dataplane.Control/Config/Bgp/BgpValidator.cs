using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>
/// Cross-object rules of the BGP kinds: every peerConfigRef names a CiliumBGPPeerConfig, every authSecretRef a
/// Secret in <see cref="SecretsNamespace"/> with a non-empty key <c>password</c> (resolved here, so a missing
/// password is a load error rather than a session that never comes up), and node overrides name instances and
/// peers that exist.
/// </summary>
internal static class BgpValidator
{
    /// <summary>Cilium's default bgp-secrets-namespace.</summary>
    public const string SecretsNamespace = "kube-system";

    public static BgpConfigSpec Validate(ModelBuilder m)
    {
        var peerConfigs = m.BgpPeerConfigs.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (var cc in m.BgpClusterConfigs)
            foreach (var inst in cc.Instances)
                foreach (var peer in inst.Peers)
                    if (peer.PeerConfigRef is { } r && !peerConfigs.ContainsKey(r))
                        throw new ConfigException(peer.Source, $"peer '{peer.Name}': peerConfigRef names CiliumBGPPeerConfig '{r}', which does not exist");

        var resolved = ImmutableArray.CreateBuilder<BgpPeerConfigSpec>();
        foreach (var pc in m.BgpPeerConfigs)
        {
            if (pc.AuthSecretRef is not { } name) { resolved.Add(pc); continue; }
            var secret = m.Secrets.FirstOrDefault(s => s.Namespace == SecretsNamespace && s.Name == name)
                ?? throw new ConfigException(pc.AuthSecretAt, $"authSecretRef: no Secret {SecretsNamespace}/{name} (BGP secrets live in namespace {SecretsNamespace})");
            if (!secret.Values.TryGetValue("password", out var password) || password.Length == 0)
                throw new ConfigException(secret.Source, $"Secret {SecretsNamespace}/{name} has no non-empty key 'password' (needed by CiliumBGPPeerConfig {pc.Name})");
            if (password.Length > 80)
                throw new ConfigException(secret.Source, $"Secret {SecretsNamespace}/{name}: a TCP MD5 key is at most 80 bytes (RFC 2385 / TCP_MD5SIG_MAXKEYLEN), this one is {password.Length}");
            resolved.Add(pc with { Password = password });
        }

        foreach (var o in m.BgpNodeOverrides)
        {
            foreach (var inst in o.Instances)
            {
                var defined = m.BgpClusterConfigs.SelectMany(c => c.Instances).Where(i => i.Name == inst.Name).ToList();
                if (defined.Count == 0)
                    throw new ConfigException(inst.Source, $"override of BGP instance '{inst.Name}', which no CiliumBGPClusterConfig defines");
                foreach (var p in inst.Peers)
                    if (!defined.Any(d => d.Peers.Any(x => x.Name == p.Name)))
                        throw new ConfigException(p.Source, $"override of peer '{p.Name}', which BGP instance '{inst.Name}' does not have");
            }
        }
        return new BgpConfigSpec([.. m.BgpClusterConfigs], resolved.ToImmutable(), [.. m.BgpAdvertisements], [.. m.BgpNodeOverrides]);
    }
}
