using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux;

/// <summary>
/// Runs code inside another network namespace: on a thread of its own that joins the namespace with setns(2)
/// and ends afterwards, so no thread of the pool is ever left in a foreign namespace. For set-up work
/// (sockets, ioctls, netlink), not for the datapath.
/// </summary>
public static partial class NetNamespace
{
    private const int CLONE_NEWNET = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    /// <summary>The file of a namespace given by name (as `ip netns add` makes it) or by path (/proc/PID/ns/net, CNI_NETNS).</summary>
    public static string PathOf(string nameOrPath) => nameOrPath.Contains('/') ? nameOrPath : $"/var/run/netns/{nameOrPath}";

    /// <summary>Runs <paramref name="action"/> in the namespace and returns its result; its exception is rethrown here.</summary>
    public static T Run<T>(string nameOrPath, Func<T> action)
    {
        using var ns = File.OpenHandle(PathOf(nameOrPath), FileMode.Open, FileAccess.Read);
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (setns((int)ns.DangerousGetHandle(), CLONE_NEWNET) != 0) throw Errno.Error($"setns({nameOrPath})");
                result = action();
            }
            catch (Exception e) { error = e; }
        }) { IsBackground = true, Name = "netns" };
        thread.Start();
        thread.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return result;
    }

    public static void Run(string nameOrPath, Action action) => Run(nameOrPath, () => { action(); return 0; });
}
