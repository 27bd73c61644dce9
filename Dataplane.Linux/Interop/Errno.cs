using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>errno values we act on, and the exception for failed setup calls (never thrown on the datapath).</summary>
public static class Errno
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ENOBUFS = 105;
    public const int ENETDOWN = 100;
    public const int ENXIO = 6;

    public static int Last => Marshal.GetLastPInvokeError();

    public static LinuxException Error(string call) => new(call, Last);

    public static void Check(int rc, string call)
    {
        if (rc < 0) throw Error(call);
    }
}

public sealed class LinuxException(string call, int errno)
    : Exception($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;
}
