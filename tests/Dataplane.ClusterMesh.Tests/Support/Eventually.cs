using System.Diagnostics;

namespace Dataplane.ClusterMesh.Tests.Support;

/// <summary>Polls a condition (bounded in time) for state that converges asynchronously through etcd.</summary>
public static class Eventually
{
    public static async Task True(Func<bool> condition, string what, double seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed.TotalSeconds > seconds) Assert.Fail($"timed out after {seconds} s waiting for: {what}");
            await Task.Delay(50);
        }
    }

    public static CancellationToken Timeout(double seconds = 60) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
