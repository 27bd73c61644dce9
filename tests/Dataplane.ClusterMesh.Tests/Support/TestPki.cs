using System.Diagnostics;

namespace Dataplane.ClusterMesh.Tests.Support;

/// <summary>
/// Certificates made with the openssl command line for one test, in their own temporary directory: a CA with a
/// server certificate for 127.0.0.1 and <see cref="ServerName"/>, a client certificate, an expired client
/// certificate (issued with <c>openssl ca</c> and dates in the past), and a second, unrelated CA with a client
/// certificate of its own (a client etcd must refuse).
/// </summary>
public sealed class TestPki : IDisposable
{
    public const string ServerName = "etcd.c2.mesh.test";
    public string Dir { get; }

    public string Ca => At("ca.crt");
    public string ServerCert => At("server.crt");
    public string ServerKey => At("server.key");
    public string ClientCert => At("client.crt");
    public string ClientKey => At("client.key");
    public string ExpiredCert => At("expired.crt");
    public string ExpiredKey => At("expired.key");
    public string OtherCa => At("other-ca.crt");
    public string RogueCert => At("rogue.crt");
    public string RogueKey => At("rogue.key");

    private TestPki()
    {
        Dir = Path.Combine(Path.GetTempPath(), "dp-pki-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Dir);
    }

    public string At(string name) => Path.Combine(Dir, name);

    public static TestPki Create()
    {
        var p = new TestPki();
        try
        {
            p.MakeCa("ca", "dataplane-test-ca");
            p.MakeCa("other-ca", "someone-elses-ca");
            File.WriteAllText(p.At("server.ext"), $"subjectAltName=IP:127.0.0.1,DNS:{ServerName}\nextendedKeyUsage=serverAuth,clientAuth\n");
            File.WriteAllText(p.At("client.ext"), "extendedKeyUsage=clientAuth\n");
            p.Issue("server", "etcd-server", "ca", "server.ext");
            p.Issue("client", "root", "ca", "client.ext");
            p.Issue("rogue", "root", "other-ca", "client.ext");
            p.IssueExpired();
            return p;
        }
        catch { p.Dispose(); throw; }
    }

    private void MakeCa(string name, string cn) =>
        Openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", At(name + ".key"), "-out", At(name + ".crt"), "-days", "30", "-subj", "/CN=" + cn);

    private void Issue(string name, string cn, string ca, string ext)
    {
        Openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", At(name + ".key"), "-out", At(name + ".csr"), "-subj", "/CN=" + cn);
        Openssl("x509", "-req", "-in", At(name + ".csr"), "-CA", At(ca + ".crt"), "-CAkey", At(ca + ".key"), "-CAcreateserial",
            "-out", At(name + ".crt"), "-days", "30", "-extfile", At(ext));
    }

    /// <summary><c>openssl x509</c> cannot backdate; <c>openssl ca</c> takes explicit start and end dates.</summary>
    private void IssueExpired()
    {
        Directory.CreateDirectory(At("issued"));
        File.WriteAllText(At("index.txt"), "");
        File.WriteAllText(At("serial"), "1000\n");
        File.WriteAllText(At("ca.cnf"), $"""
            [ ca ]
            default_ca = test
            [ test ]
            database = {At("index.txt")}
            new_certs_dir = {At("issued")}
            serial = {At("serial")}
            default_md = sha256
            policy = any
            x509_extensions = leaf
            [ any ]
            commonName = supplied
            [ leaf ]
            extendedKeyUsage = clientAuth
            """);
        Openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", ExpiredKey, "-out", At("expired.csr"), "-subj", "/CN=root");
        Openssl("ca", "-batch", "-config", At("ca.cnf"), "-cert", Ca, "-keyfile", At("ca.key"), "-in", At("expired.csr"),
            "-out", ExpiredCert, "-notext", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z");
    }

    private void Openssl(params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot run openssl");
        var err = p.StandardError.ReadToEndAsync();
        var outp = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(); throw new TimeoutException("openssl " + string.Join(' ', args)); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {err.Result}{outp}");
    }

    /// <summary>Writes a Cilium etcd config file (<c>name</c> in <paramref name="dir"/>) naming these files.</summary>
    public static string WriteEtcdConfig(string dir, string name, string endpoint, string? ca = null, string? cert = null, string? key = null,
        string? serverName = null, string? user = null, string? password = null)
    {
        Directory.CreateDirectory(dir);
        var lines = new List<string> { "endpoints:", $"- {endpoint}" };
        if (ca != null) lines.Add($"trusted-ca-file: {ca}");
        if (cert != null) lines.Add($"cert-file: {cert}");
        if (key != null) lines.Add($"key-file: {key}");
        if (serverName != null) lines.Add($"server-name: {serverName}");
        if (user != null) lines.Add($"username: {user}");
        if (password != null) lines.Add($"password: {password}");
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
