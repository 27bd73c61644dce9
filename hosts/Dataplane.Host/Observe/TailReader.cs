namespace Dataplane.Host.Observe;

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
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        _reader = new StreamReader(_stream);
    }

    public override string? ReadLine()
    {
        bool draining = false;
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
            if (!draining)
            {
                if (!Rotated()) return null;
                // The writer may have appended to the old file between our end-of-file and its rename: read it to
                // its end once more (nothing is written to it after the rename), then switch. Read, not Peek:
                // StreamReader.Peek answers from a stale "short read" flag without asking the file again.
                draining = true;
                continue;
            }
            FileStream? next = OpenSuccessor();
            if (next == null) return null; // between the writer's rename and its create: ask again later
            _reader.Dispose();
            _stream = next;
            _reader = new StreamReader(next);
            _partial.Clear();
            draining = false;
        }
    }

    /// <summary>
    /// Opens the file written after the one being read. The exporter may have rotated more than once while we were
    /// reading (PATH → PATH.1 → PATH.2 …): the old file's inode tells where it went, and its successor is the name
    /// one below it — so no whole file is skipped when the reader falls behind by a rotation or two.
    /// </summary>
    private FileStream? OpenSuccessor()
    {
        long old = Inode(_stream.SafeFileHandle);
        for (int attempt = 0; attempt < 8; attempt++)
        {
            int k = 1;
            while (k <= MaxBackupsSearched && Inode($"{_path}.{k}") != old)
                k++;
            string name = k == 1 || k > MaxBackupsSearched ? _path : $"{_path}.{k - 1}";
            FileStream s;
            try { s = new FileStream(name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
            catch (FileNotFoundException) { continue; }
            // A rotation between the search and the open shifts every name: then look again.
            if (k > MaxBackupsSearched || Inode($"{_path}.{k}") == old) return s;
            s.Dispose();
        }
        return null;
    }

    private const int MaxBackupsSearched = 64;

    /// <summary>True when the path now names a different (or shorter) file than the one being read.</summary>
    private bool Rotated()
    {
        long pathInode = Inode(_path);
        if (pathInode < 0) return false; // renamed away, its successor not created yet
        try
        {
            return new FileInfo(_path).Length < _stream.Position || pathInode != Inode(_stream.SafeFileHandle);
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
