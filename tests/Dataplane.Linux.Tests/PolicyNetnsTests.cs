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

    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void AllowedTcpPassesAndDeniedTcpIsDroppedBeforeTheServer(string backend)
    {
        Requires.RootAnd("ip", "python3");
        using var topo = new PodTopology(PodPolicies.Join(PodPolicies.ServerAllowsTcp8080, PodPolicies.ClientAdmitsNothing));
        var fwd = topo.StartForwarder(backend);
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            topo.AssertTcp8080PassesAnd9090IsDropped(100000, () => fwd.Output);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), "forwarder did not stop:\n" + fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Matches(@"exit:   drop POLICY_DENIED \(133\): [1-9]", fwd.Output);
        }
        finally { fwd.Dispose(); }
    }
}
