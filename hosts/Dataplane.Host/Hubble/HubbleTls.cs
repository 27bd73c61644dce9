using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Dataplane.Host.Hubble;

/// <summary>
/// TLS on the Observer's TCP listener, with Cilium's flags: the server's certificate and key
/// (<c>--hubble-tls-cert-file</c>, <c>--hubble-tls-key-file</c>, PEM) and, for mutual TLS, the CAs a client's
/// certificate must chain to (<c>--hubble-tls-client-ca-files</c>): with them a client without such a certificate
/// is refused in the handshake. TLS 1.2 or 1.3 (Cilium's minimum is 1.2); the files are read once, at start.
/// </summary>
public sealed class HubbleTls
{
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2Collection _clientCas;

    private HubbleTls(X509Certificate2 certificate, X509Certificate2Collection clientCas)
    {
        _certificate = certificate;
        _clientCas = clientCas;
    }

    /// <summary>Whether clients must present a certificate signed by one of the client CAs.</summary>
    public bool MutualTls => _clientCas.Count > 0;

    public string Subject => _certificate.Subject;

    /// <summary>
    /// Loads the PEM files. Throws <see cref="FormatException"/> naming the flag and file that cannot be used (missing,
    /// unreadable, not PEM, a key that does not match the certificate).
    /// </summary>
    public static HubbleTls Load(string certFile, string keyFile, IReadOnlyList<string> clientCaFiles)
    {
        X509Certificate2 cert;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // An ephemeral PEM key cannot serve TLS on every platform: re-import it as PKCS#12.
            cert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new FormatException($"--hubble-tls-cert-file {certFile} / --hubble-tls-key-file {keyFile}: {e.Message}");
        }
        var cas = new X509Certificate2Collection();
        foreach (string file in clientCaFiles)
        {
            try
            {
                int before = cas.Count;
                cas.ImportFromPemFile(file);
                if (cas.Count == before) throw new CryptographicException("no PEM certificate in it");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                throw new FormatException($"--hubble-tls-client-ca-files {file}: {e.Message}");
            }
        }
        return new HubbleTls(cert, cas);
    }

    /// <summary>Kestrel's HTTPS options for the listener.</summary>
    public HttpsConnectionAdapterOptions Options() => new()
    {
        ServerCertificate = _certificate,
        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateMode = MutualTls ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
        ClientCertificateValidation = MutualTls ? (cert, _, _) => ChainsToClientCa(cert) : null,
    };

    /// <summary>The client's certificate chains to one of the configured CAs (and only those: the system's roots are not trusted here).</summary>
    private bool ChainsToClientCa(X509Certificate2 cert)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_clientCas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert);
    }
}
