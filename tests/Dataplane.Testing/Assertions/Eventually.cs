namespace Dataplane.Testing.Assertions;

/// <summary>Bounded polling for state that converges asynchronously: every wait ends, with a message saying what
/// never happened. The bound is a deadline for a condition, never a measured duration that is asserted.</summary>
public static class Eventually
{
    public static Task True(Func<bool> condition, string what, double seconds = 30) =>
        True(condition, TimeSpan.FromSeconds(seconds), what);

    public static async Task True(Func<bool> condition, TimeSpan timeout, string what)
    {
        var end = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > end) Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for: {what}");
            await Task.Delay(50);
        }
    }

    public static CancellationToken Timeout(double seconds = 60) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
