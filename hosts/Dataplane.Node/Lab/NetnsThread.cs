using System.Runtime.InteropServices;

namespace Dataplane.Node.Lab;

/// <summary>
/// Runs code inside a named network namespace (/var/run/netns/NAME, as `ip netns add` creates it) on a thread of
/// its own: setns(2) switches only the calling thread, and a socket keeps the namespace it was created in, so the
/// lab's TCP servers and clients live in the pods' namespaces without any external program.
/// </summary>
public static partial class NetnsThread
{
    private const int CLONE_NEWNET = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    /// <summary>Runs <paramref name="work"/> in namespace <paramref name="ns"/> and returns its result.</summary>
    public static T Run<T>(string ns, Func<T> work)
    {
        T? result = default;
        Exception? failure = null;
        var t = new Thread(() =>
        {
            try
            {
                using (var f = File.OpenHandle($"/var/run/netns/{ns}"))
                {
                    if (setns((int)f.DangerousGetHandle(), CLONE_NEWNET) != 0)
                        throw new LabException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }
                result = work();
            }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true, Name = $"netns-{ns}" };
        t.Start();
        t.Join();
        if (failure != null) throw failure is LabException ? failure : new LabException($"in {ns}: {failure.Message}");
        return result!;
    }
}
