using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The README's first command, as a newcomer runs it: `dataplane-node lab` builds its nodes and pods, sends
/// traffic through two agents (VXLAN, ClusterIP, allow and deny policy), reports every step as Cilium
/// specifies, summarises the verdicts, and leaves no namespace or process behind.
/// </summary>
public class LabSmokeTests
{
    [SkippableFact]
    public void LabRunsEveryStepAsCiliumSpecifiesAndCleansUp()
    {
        Requires.Root();
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var r = Sh.Run(TimeSpan.FromSeconds(240), "dotnet", dll, "lab");
        string output = r.Output;
        var id = Regex.Match(output, @"lab ([0-9a-f]{4}):").Groups[1].Value;
        try
        {
            Assert.True(r.Ok, output);
            Assert.Contains("5/5 steps behaved as Cilium specifies", output);
            // The ClusterIP step reached both backends through Maglev DNAT.
            LabOutput.HasLine(output, @"answered by api-1 ×\d+, api-2 ×\d+");
            // Drops carry Cilium's reasons, counted by the node that enforced them (ingress on lab-node-2).
            LabOutput.HasLine(output, @"dropped  shop/web → shop/api-2 ICMPv4: \d+ × POLICY_DENIED at lab-node-2 ingress");
            LabOutput.HasLine(output, @"dropped  shop/scanner → shop/api-\d:8080 TCP: \d+ × POLICY_DENY at lab-node-2 ingress");
            LabOutput.HasLine(output, @"allowed  shop/web → shop/api-1:8080 TCP: \d+ packets forwarded");
            Assert.Contains("Policy denied by denylist/INGRESS", output);
        }
        finally
        {
            Assert.NotEqual("", id);
            Assert.DoesNotContain($"dpl-{id}-", Sh.Run("ip", "netns", "list").Output);
            Assert.Empty(Sh.Run("pgrep", "-f", $"dataplane-lab-{id}").Output.Trim());
        }
    }
}
