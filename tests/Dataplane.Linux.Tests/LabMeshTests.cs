using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;

namespace Dataplane.Linux.Tests;

/// <summary>
/// `dataplane-node lab --mesh` as a user runs it: the lab plus a dataplane-gateway, BIRD as the on-prem router and a
/// VM behind it. Every step behaves as Cilium specifies: the VM reaches the api pods through the portal VIP BIRD
/// learned from the gateway (its birdc route printed), the policy naming the VM's labels allows 8080 and its port
/// 9090 is dropped with POLICY_DENIED on the api pods' node, a pod reaches the VM through the gateway; nothing is
/// left behind (namespaces, agents, BIRD).
/// </summary>
public class LabMeshTests
{
    [SkippableFact]
    public void LabMeshShowsTheVmReachingPodsThroughTheGatewayWithBgpAndPolicy()
    {
        Requires.RootAnd("ip", "bird", "birdc");
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var r = Sh.Run(TimeSpan.FromSeconds(300), "dotnet", dll, "lab", "--mesh");
        string output = r.Output;
        var id = Regex.Match(output, @"lab ([0-9a-f]{4}):").Groups[1].Value;
        try
        {
            Assert.True(r.Ok, output);
            Assert.Contains("8/8 steps behaved as Cilium specifies", output);
            // The VM's connections to the VIP: BIRD's route from the gateway, answered by the api pods (Maglev spreads
            // them; ten connections can, rarely, all land on one pod, and on a loaded machine one may time out).
            LabOutput.HasLine(output, @"ok   got through \(expected allowed\): answered by api-\d ×\d+(, api-\d ×\d+)?(; \d+ failed)?; birdc: 198\.18\.50\.10/32 unicast \[meshgw [^\]]*\] \* \(100\) \[AS65001i\] via 198\.18\.40\.1");
            // The policy naming the VM's labels: 8080 forwarded to the pods, 9090 denied on the pods' node.
            LabOutput.HasLine(output, @"allowed  shop/billing-vm \(via the gateway\) → shop/api-\d:8080 TCP: \d+ packets forwarded");
            LabOutput.HasLine(output, @"dropped  shop/billing-vm \(via the gateway\) → shop/api-\d:9090 TCP: \d+ × POLICY_DENIED at lab-node-2 ingress");
            // A pod reaches the VM through the gateway.
            LabOutput.HasLine(output, @"ok   got through \(expected allowed\): answered by billing-vm ×\d");
            LabOutput.HasLine(output, @"allowed  shop/web → shop/billing-vm:8080 TCP: \d+ packets forwarded");
            // The plain lab's steps still hold.
            LabOutput.HasLine(output, @"dropped  shop/scanner → shop/api-\d:8080 TCP: \d+ × POLICY_DENY at lab-node-2 ingress");
        }
        finally
        {
            Assert.NotEqual("", id);
            Assert.DoesNotContain($"dpl-{id}-", Sh.Run("ip", "netns", "list").Output);
            Assert.Empty(Sh.Run("pgrep", "-f", $"dataplane-lab-{id}").Output.Trim());
        }
    }
}
