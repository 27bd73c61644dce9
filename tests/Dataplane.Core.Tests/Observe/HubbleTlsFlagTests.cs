using Dataplane.Host.Run;

namespace Dataplane.Core.Tests.Observe;

/// <summary>TLS flags of the Observer's TCP listener that cannot work stop the start with exit 2 and a line naming the flag.</summary>
public sealed class HubbleTlsFlagTests
{
    [Theory]
    [InlineData(new[] { "--hubble-listen-address", "127.0.0.1:4244", "--hubble-tls-key-file", "/nonexistent/k.pem" }, "--hubble-tls-key-file: needs --hubble-tls-cert-file too")]
    [InlineData(new[] { "--hubble-listen-address", "127.0.0.1:4244", "--hubble-tls-cert-file", "/nonexistent/c.pem" }, "--hubble-tls-cert-file: needs --hubble-tls-key-file too")]
    [InlineData(new[] { "--hubble-listen-address", "127.0.0.1:4244", "--hubble-tls-client-ca-files", "/nonexistent/ca.pem" }, "--hubble-tls-client-ca-files: needs --hubble-tls-cert-file")]
    [InlineData(new[] { "--hubble-tls-cert-file", "/nonexistent/c.pem", "--hubble-tls-key-file", "/nonexistent/k.pem" }, "give --hubble-listen-address")]
    [InlineData(new[] { "--hubble-listen-address", "127.0.0.1:4244", "--hubble-tls-cert-file", "/nonexistent/c.pem", "--hubble-tls-key-file", "/nonexistent/k.pem" }, "hubble TLS: --hubble-tls-cert-file /nonexistent/c.pem / --hubble-tls-key-file /nonexistent/k.pem: ")]
    public void UnusableTlsFlagsAreRefusedWithWhatIsWrong(string[] args, string expected)
    {
        var e = RunFlags.Refusal(args);
        Assert.Equal(RunExit.Config, e.ExitCode);
        Assert.Contains(expected, e.Line("dataplane-node"), StringComparison.Ordinal);
    }
}
