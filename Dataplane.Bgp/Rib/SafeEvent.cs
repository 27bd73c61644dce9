namespace Dataplane.Bgp.Rib;

/// <summary>
/// Raises events so that a throwing subscriber cannot break the session loop that raised them: each handler
/// runs on its own, and a failure is reported to <c>onError</c> and otherwise ignored.
/// </summary>
internal static class SafeEvent
{
    public static void Raise<T>(Action<T>? handlers, T arg, Action<Exception>? onError = null)
    {
        if (handlers is null) return;
        foreach (var d in handlers.GetInvocationList())
        {
            try { ((Action<T>)d)(arg); }
            catch (Exception ex) { onError?.Invoke(ex); }
        }
    }
}
