using Dataplane.Host.Api;

namespace Dataplane.Host.Observe;

/// <summary>Finds the running agent's flow file through its API (the status answer names it).</summary>
public static class AgentFlows
{
    /// <summary>The flow file, or null (with the reason on <paramref name="error"/>) when there is no agent or it exports no flows.</summary>
    public static string? FileOf(string socketPath, TextWriter error)
    {
        var s = AgentSocket.FetchStatus(socketPath, TimeSpan.FromSeconds(10), out _, out string? problem);
        if (s is null)
        {
            error.WriteLine($"error: {problem}");
            return null;
        }
        if (s.FlowsFile is { Length: > 0 } f) return f;
        error.WriteLine($"error: the agent on {socketPath} exports no flow events (start it with run --flows-file FILE)");
        return null;
    }
}
