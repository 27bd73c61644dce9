using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// TLS on the Observer's TCP listener, set up as Cilium's is (--hubble-tls-cert-file, --hubble-tls-key-file,
/// --hubble-tls-client-ca-files) with certificates openssl makes: the Python client (python3-grpcio) that trusts the CA
/// and shows a client certificate from it reads the server's status and the drops the test caused; one without a
/// client certificate, one whose certificate another CA signed, and one that does not trust the server's CA are refused.
/// </summary>
public sealed class HubbleTlsNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);
    private static string Client => Path.Combine(AppContext.BaseDirectory, "Support", "hubble_client.py");
    private static string Protos => Path.Combine(Sh.RepoRoot, "api", "cilium");
    private const string ServerName = "dp.default.hubble-grpc.cilium.io";

    [SkippableFact]
    public async Task OnlyClientsWithACertificateFromTheClientCaGetFlowsOverTls()
    {
        Requires.RootAnd("ip", "ping", "openssl");
        var probe = Sh.Run(TimeSpan.FromSeconds(20), Sh.Python, ["-c", "import grpc, grpc_tools.protoc, google.protobuf"]);
        Skip.IfNot(probe.ExitCode == 0, "python3-grpcio / python3-grpc-tools not installed: " + probe.Stderr);
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        using var pki = new TempDir("dpt-hubble-tls-");
        string Pem(string name) => pki[name];
        void Openssl(params string[] args)
        {
            var r = Sh.Run(Short, "openssl", args);
            Assert.True(r.Ok, "openssl " + string.Join(' ', args) + ": " + r.Output);
        }
        void Ca(string name) => Openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", Pem(name + ".key"), "-out", Pem(name + ".crt"), "-days", "1", "-subj", "/CN=" + name);
        void Leaf(string name, string ca, string extensions)
        {
            File.WriteAllText(Pem(name + ".ext"), extensions + "\n");
            Openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", Pem(name + ".key"),
                "-out", Pem(name + ".csr"), "-subj", "/CN=" + name);
            Openssl("x509", "-req", "-in", Pem(name + ".csr"), "-CA", Pem(ca + ".crt"), "-CAkey", Pem(ca + ".key"), "-CAcreateserial",
                "-out", Pem(name + ".crt"), "-days", "1", "-extfile", Pem(name + ".ext"));
        }
        Ca("hubble-ca");
        Ca("other-ca");
        Leaf("server", "hubble-ca", $"subjectAltName=DNS:*.default.hubble-grpc.cilium.io\nextendedKeyUsage=serverAuth");
        Leaf("client", "hubble-ca", "extendedKeyUsage=clientAuth");
        Leaf("stranger", "other-ca", "extendedKeyUsage=clientAuth");

        int port = 20000 + Random.Shared.Next(20000);
        string address = "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
        using var agent = topo.StartForwarder("af_packet", "--ct-dir", "", "--hubble-listen-address", address,
            "--hubble-tls-cert-file", Pem("server.crt"), "--hubble-tls-key-file", Pem("server.key"), "--hubble-tls-client-ca-files", Pem("hubble-ca.crt"));
        try
        {
            Assert.True(agent.WaitFor("Hubble Observer API on tcp:" + address + " (TLS", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            topo.Ping(topo["client"], topo["server"], 2);

            Sh.Result Ask(string? ca, string? cert, params string[] command)
            {
                var env = new Dictionary<string, string> { ["HUBBLE_TLS_SERVER_NAME"] = ServerName };
                if (ca is not null) env["HUBBLE_TLS_CA"] = Pem(ca + ".crt");
                if (cert is not null) { env["HUBBLE_TLS_CERT"] = Pem(cert + ".crt"); env["HUBBLE_TLS_KEY"] = Pem(cert + ".key"); }
                return Sh.Run(TimeSpan.FromSeconds(60), "ip", ["netns", "exec", topo.DataplaneNs, Sh.Python, Client, Protos, "tls://" + address, .. command], null, env);
            }

            var status = Ask("hubble-ca", "client", "status");
            Assert.True(status.Ok, "the client with the CA's certificate was refused: " + status.Output + agent.Output);
            Assert.Contains("max_flows", status.Stdout);
            await Eventually.True(() =>
            {
                var flows = Ask("hubble-ca", "client", "flows", """{"number":"10","whitelist":[{"verdict":["DROPPED"]}]}""", "10", "10");
                return flows.Ok && flows.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Count(l => JsonDocument.Parse(l).RootElement.GetProperty("flow").GetProperty("verdict").GetString() == "DROPPED") == 2;
            }, "the two dropped pings did not come over TLS:\n" + agent.Output);

            foreach (var (what, ca, cert) in new[] { ("no client certificate", "hubble-ca", (string?)null), ("a certificate from another CA", "hubble-ca", "stranger"),
                         ("a client that does not trust the server's CA", "other-ca", "client") })
            {
                var refused = Ask(ca, cert, "status");
                output.WriteLine($"{what}: exit {refused.ExitCode}: {refused.Output}");
                Assert.False(refused.Ok, $"{what} was served: {refused.Output}");
                Assert.Contains("rpc error: StatusCode.UNAVAILABLE", refused.Stderr);
            }
            Assert.False(agent.HasExited, agent.Output);
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }
}
