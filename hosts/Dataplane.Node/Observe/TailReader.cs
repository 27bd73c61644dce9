namespace Dataplane.Node.Observe;

/// <summary>
/// Reads a growing file line by line, like <c>tail -F</c>: at the end it returns null (the caller waits and asks
/// again); when the file was rotated away (a new file at the path, or the old one truncated) it continues with
/// the new file from its start, so <c>observe --follow</c> survives <see cref="FlowExporter"/> rotation.
/// A partial last line is held back until its newline arrives.
/// </summary>
public sealed partial class TailReader : TextReader
{
    private readonly string _path;
    private FileStream _stream;
    private StreamReader _reader;
    private readonly System.Text.StringBuilder _partial = new();

    public TailReader(string path)
    {
        _path = path;
        (_stream, _reader) = Open(path);
    }

    private static (FileStream, StreamReader) Open(string path)
    {
        var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return (s, new StreamReader(s));
    }

    public override string? ReadLine()
    {
        while (true)
        {
            int c = _reader.Read();
            if (c == '\n')
            {
                string line = _partial.ToString();
                _partial.Clear();
                return line;
            }
            if (c >= 0) { _partial.Append((char)c); continue; }
            if (!Rotated()) return null;
            // The writer may have appended to the old file between our end-of-file and its rename: finish it
            // first (nothing is written to it after the rename), then switch.
            if (_reader.Peek() >= 0) continue;
            _reader.Dispose();
            (_stream, _reader) = Open(_path);
            _partial.Clear();
        }
    }

    /// <summary>True when the path now names a different (or shorter) file than the one being read.</summary>
    private bool Rotated()
    {
        try
        {
            var info = new FileInfo(_path);
            if (!info.Exists) return false;
            return info.Length < _stream.Position || Inode(_path) != Inode(_stream.SafeFileHandle);
        }
        catch (IOException) { return false; }
    }

    // .NET does not expose inode numbers: stat(2)/fstat(2) from libc. st_ino is the second 64-bit field of
    // struct stat on x86-64 and arm64 alike.
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "stat", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static unsafe partial int StatPath(string path, byte* buf);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fstat")]
    private static unsafe partial int StatFd(int fd, byte* buf);

    private static unsafe long Inode(string path)
    {
        byte* buf = stackalloc byte[256];
        return StatPath(path, buf) == 0 ? *(long*)(buf + 8) : -1;
    }

    private static unsafe long Inode(Microsoft.Win32.SafeHandles.SafeFileHandle h)
    {
        byte* buf = stackalloc byte[256];
        return StatFd((int)h.DangerousGetHandle(), buf) == 0 ? *(long*)(buf + 8) : -2;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _reader.Dispose();
        base.Dispose(disposing);
    }
}
