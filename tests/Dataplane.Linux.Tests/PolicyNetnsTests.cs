using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Two pods, one CiliumNetworkPolicy, real TCP through `dataplane-node run`: the server pod admits its
/// client on 8080 only. The allowed connection completes (its replies pass through conntrack although the
/// client pod has no policy for them) and the server sees it; the denied one never reaches the server, and the
/// forwarder counts it as POLICY_DENIED (133).
/// </summary>
public sealed class PolicyNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void AllowedTcpPassesAndDeniedTcpIsDroppedBeforeTheServer(string backend)
    {
        Requires.RootAnd("ip", "python3");
        using var topo = new PodTopology(PodPolicies.Join(PodPolicies.ServerAllowsTcp8080, PodPolicies.ClientAdmitsNothing));
        string echo = Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");
        var fwd = topo.StartForwarder(backend);
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            var server = topo["server"];
            var allowed = topo.Start(server.Ns, "python3", echo, "tcp-server", "8080");
            var denied = topo.Start(server.Ns, "python3", echo, "tcp-server", "9090");
            Assert.True(allowed.WaitFor("listening", Short) && denied.WaitFor("listening", Short), allowed.Output + denied.Output);

            var ok = topo.Exec(topo["client"].Ns, Short, "python3", echo, "tcp-client", server.Ip, "8080", "100000");
            Assert.True(ok.Ok && ok.Output.Contains("echoed 100000"), $"allowed connection failed: {ok.Output}\n{fwd.Output}");
            Assert.True(allowed.WaitFor("served 100000", Short), "server did not see the allowed connection: " + allowed.Output);

            var no = topo.Exec(topo["client"].Ns, Short, "python3", echo, "tcp-client", server.Ip, "9090", "1000");
            Assert.False(no.Ok, "denied connection succeeded: " + no.Output);
            Assert.DoesNotContain("served", denied.Output);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), "forwarder did not stop:\n" + fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Matches(@"exit:   drop POLICY_DENIED \(133\): [1-9]", fwd.Output);
        }
        finally { fwd.Dispose(); }
    }
}
