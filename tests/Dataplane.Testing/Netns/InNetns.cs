using System.Runtime.InteropServices;

namespace Dataplane.Testing.Netns;

/// <summary>
/// Runs code inside a named network namespace (/var/run/netns/NAME) on a thread of its own: setns changes only
/// the calling thread, so the test process stays where it is. Interface indexes, XDP attachments and devmap
/// entries are per namespace, so they are made from in there; the BPF program and maps are not.
/// </summary>
public static partial class InNetns
{
    private const int CLONE_NEWNET = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);

    public static T Run<T>(string ns, Func<T> func)
    {
        T result = default!;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try
            {
                using var f = File.OpenHandle($"/var/run/netns/{ns}");
                if (setns((int)f.DangerousGetHandle(), CLONE_NEWNET) != 0)
                    throw new InvalidOperationException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                result = func();
            }
            catch (Exception e) { error = e; }
        });
        t.Start();
        if (!t.Join(TimeSpan.FromSeconds(60))) throw new TimeoutException($"work in netns {ns} did not finish");
        if (error != null) throw new InvalidOperationException($"in netns {ns}: {error.Message}", error);
        return result;
    }

    public static void Run(string ns, Action action) => Run(ns, () => { action(); return 0; });

    /// <summary>ifindex of an interface of the calling thread's namespace (0 when there is none).</summary>
    public static int IfIndex(string name) => (int)if_nametoindex(name);
}
