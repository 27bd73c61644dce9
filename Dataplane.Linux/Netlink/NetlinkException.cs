using System.Runtime.InteropServices;

namespace Dataplane.Linux.Netlink;

/// <summary>
/// The kernel refused an rtnetlink request: what was asked (<see cref="Operation"/>, e.g. "create veth lxc1/eth0"),
/// the errno it answered and, when the kernel gave one (extended ACK), its own sentence.
/// </summary>
public sealed class NetlinkException(string operation, int errno, string? kernelMessage)
    : Exception($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}){(string.IsNullOrEmpty(kernelMessage) ? "" : $": {kernelMessage}")}")
{
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int ENODEV = 19;
    public const int EEXIST = 17;
    public const int EADDRNOTAVAIL = 99;

    public string Operation { get; } = operation;
    public int Errno { get; } = errno;
    public string? KernelMessage { get; } = kernelMessage;

    /// <summary>The object the request named does not exist (no such device, address or route).</summary>
    public bool IsNotFound => Errno is ENODEV or ENOENT or ESRCH or EADDRNOTAVAIL;
}
