using Microsoft.Win32.SafeHandles;

namespace Dataplane.Linux.Netlink;

/// <summary>An open network namespace file, whose descriptor IFLA_NET_NS_FD names; open only for the request.</summary>
internal sealed class NamespaceFd : IDisposable
{
    private readonly SafeFileHandle _handle;

    private NamespaceFd(SafeFileHandle handle) => _handle = handle;

    public int Fd => (int)_handle.DangerousGetHandle();

    public static NamespaceFd? OpenOrNull(string? nameOrPath)
    {
        if (nameOrPath is null) return null;
        string path = NetNamespace.PathOf(nameOrPath);
        try { return new NamespaceFd(File.OpenHandle(path, FileMode.Open, FileAccess.Read)); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new NetlinkException($"open network namespace {path}", NetlinkException.ENOENT, "no such namespace");
        }
    }

    public void Dispose() => _handle.Dispose();
}
