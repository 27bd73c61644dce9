namespace Dataplane.Bgp.Tests.Session;

/// <summary>Bounded polling: every wait in these tests ends, with a message saying what never happened.</summary>
internal static class Eventually
{
    public static async Task True(Func<bool> condition, TimeSpan timeout, string what)
    {
        var end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            if (condition()) return;
            await Task.Delay(50);
        }
        Assert.True(condition(), $"timed out after {timeout.TotalSeconds}s waiting for: {what}");
    }
}
