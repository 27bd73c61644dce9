using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Dataplane.Control.Config;

/// <summary>
/// Reads the files of a config directory safely: only regular files (a FIFO would block the reader until
/// something writes to it, a device could be endless), and never more than
/// <see cref="BoundedYamlParser.MaxFileBytes"/>. The file is opened non-blocking and its type taken from the
/// open descriptor (statx on the fd), so a file swapped for a FIFO between listing and reading is still refused.
/// Symbolic links are followed: Kubernetes ConfigMap volumes are links into a "..data" directory.
/// </summary>
internal static partial class ConfigFiles
{
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_TYPE = 0x1, STATX_SIZE = 0x200;
    private const ushort S_IFMT = 0xF000, S_IFREG = 0x8000;
    /// <summary>struct statx: stx_mode (u16) at 28, stx_size (u64) at 40; the kernel fills 256 bytes.</summary>
    private const int StatxBytes = 256, StxMode = 28, StxSize = 40;

    /// <summary>
    /// The text of <paramref name="path"/>, or null when it is not a regular file (skipped, as dot-files are).
    /// A file larger than the limit is a <see cref="ConfigException"/>; an unreadable one an IOException.
    /// </summary>
    public static string? ReadRegular(string path)
    {
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == 2) return null;   // ENOENT: removed since the listing (or a dangling link)
            throw new IOException($"{path}: cannot open: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var (regular, size) = Stat(fd, path);
        if (!regular) return null;
        if (size > BoundedYamlParser.MaxFileBytes)
            throw TooLarge(path, size);
        // Read up to the limit, not to the size statx gave: the file may be growing.
        using var stream = new FileStream(handle, FileAccess.Read, 0);
        using var content = new MemoryStream((int)size);
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = stream.Read(chunk)) > 0)
        {
            if (content.Length + n > BoundedYamlParser.MaxFileBytes) throw TooLarge(path, content.Length + n);
            content.Write(chunk, 0, n);
        }
        var bytes = content.GetBuffer().AsSpan(0, (int)content.Length);
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];   // a UTF-8 byte order mark, as File.ReadAllText drops it
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    private static ConfigException TooLarge(string path, long size) =>
        new(new SourceLocation(path, 1, 1), $"file is {size} bytes, more than the {BoundedYamlParser.MaxFileBytes >> 20} MiB a config file may have");

    private static unsafe (bool Regular, long Size) Stat(int fd, string path)
    {
        byte* buf = stackalloc byte[StatxBytes];
        if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, buf) != 0)
            throw new IOException($"{path}: cannot stat: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        ushort mode = *(ushort*)(buf + StxMode);
        return ((mode & S_IFMT) == S_IFREG, *(long*)(buf + StxSize));
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
