using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// The certificates of one etcd client configuration, loaded from its PEM files: the CA bundle that must sign the
/// server's certificate and this client's certificate with its key. <see cref="Validate"/> checks the server
/// certificate against that CA (not the system store) and the expected name, and keeps why it refused one in
/// <see cref="ServerProblem"/> — a TLS failure's exception says only that a callback rejected it.
/// </summary>
public sealed class TlsMaterial : IDisposable
{
    private readonly X509Certificate2Collection _trusted = [];
    private volatile string? _serverProblem;

    public string? CaFile { get; }
    public string? CertFile { get; }
    public X509Certificate2? ClientCertificate { get; }
    public string? ServerName { get; }
    /// <summary>Why the last server certificate was refused (null after one was accepted).</summary>
    public string? ServerProblem => _serverProblem;

    private TlsMaterial(string? caFile, string? certFile, X509Certificate2? client, string? serverName)
    {
        CaFile = caFile;
        CertFile = certFile;
        ClientCertificate = client;
        ServerName = serverName;
    }

    /// <summary>Loads the files the configuration names; a missing or unreadable one is an <see cref="InvalidDataException"/> naming it.</summary>
    public static TlsMaterial Load(EtcdClientConfig config)
    {
        X509Certificate2? client = null;
        if (config.CertFile != null)
        {
            try
            {
                using var pem = X509Certificate2.CreateFromPemFile(config.CertFile, config.KeyFile);
                // Re-imported so the key is usable by SslStream on every platform (an ephemeral PEM key may not be).
                client = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            // ArgumentException: the key does not match the certificate — also what a reload sees between the
            // rewrite of cert-file and that of key-file; it must be a config problem, never escape the reload timer.
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new InvalidDataException($"cert-file {config.CertFile} / key-file {config.KeyFile}: {e.Message}", e);
            }
        }
        var m = new TlsMaterial(config.TrustedCaFile, config.CertFile, client, config.ServerName);
        if (config.TrustedCaFile != null)
        {
            try { m._trusted.ImportFromPemFile(config.TrustedCaFile); }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                m.Dispose();
                throw new InvalidDataException($"trusted-ca-file {config.TrustedCaFile}: {e.Message}", e);
            }
            if (m._trusted.Count == 0)
            {
                m.Dispose();
                throw new InvalidDataException($"trusted-ca-file {config.TrustedCaFile}: no PEM certificate in it");
            }
        }
        return m;
    }

    /// <summary>What is wrong with this client's own certificate right now (expired, not yet valid), or null.</summary>
    public string? ClientProblem()
    {
        if (ClientCertificate is not { } c) return null;
        var now = DateTime.Now;
        if (c.NotAfter < now) return $"client certificate {CertFile} expired at {c.NotAfter.ToUniversalTime():u}";
        if (c.NotBefore > now) return $"client certificate {CertFile} is not valid before {c.NotBefore.ToUniversalTime():u}";
        return null;
    }

    /// <summary>What to say when etcd closed the session after accepting its certificate: it refused ours (or that we have none).</summary>
    public string RefusedByServer() => ClientCertificate is { } c
        ? $"etcd closed the TLS session: it refused client certificate {CertFile} ({c.Subject}, issued by {c.Issuer}); is it issued by the CA etcd trusts (--trusted-ca-file)?"
        : "etcd closed the TLS session: it requires a client certificate and none is configured (cert-file, key-file)";

    /// <summary>TLS options for one endpoint whose URL host is <paramref name="host"/>.</summary>
    public SslClientAuthenticationOptions ClientOptions(string host)
    {
        var expected = ServerName ?? host;
        return new SslClientAuthenticationOptions
        {
            TargetHost = expected,
            // Offered whatever issuers the server lists (etcd lists its client CA; a mismatch is the server's to refuse).
            LocalCertificateSelectionCallback = ClientCertificate is { } c ? (_, _, _, _, _) => c : null,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) => Validate(cert, chain, errors, expected),
        };
    }

    private bool Validate(X509Certificate? cert, X509Chain? presented, SslPolicyErrors errors, string expected)
    {
        if (cert == null) return Refuse("the server presented no certificate");
        using var leaf = new X509Certificate2(cert);
        if (_trusted.Count > 0)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.CustomTrustStore.AddRange(_trusted);
            if (presented != null)
                foreach (var e in presented.ChainElements)
                    if (!e.Certificate.Equals(leaf)) chain.ChainPolicy.ExtraStore.Add(e.Certificate);
            if (!chain.Build(leaf))
            {
                var why = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
                return Refuse($"server certificate '{leaf.Subject}' is not trusted by trusted-ca-file {CaFile}: {why}");
            }
        }
        else if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return Refuse($"server certificate '{leaf.Subject}' is not trusted by the system store (no trusted-ca-file given)");
        }
        if (!leaf.MatchesHostname(expected))
            return Refuse($"server certificate '{leaf.Subject}' is not valid for {expected}{(ServerName == null ? " (set server-name if it is issued for another name)" : "")}");
        _serverProblem = null;
        return true;
    }

    private bool Refuse(string why)
    {
        _serverProblem = why;
        return false;
    }

    public void Dispose()
    {
        ClientCertificate?.Dispose();
        foreach (var c in _trusted) c.Dispose();
    }
}
