using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Dataplane.Core.Conntrack;

/// <summary>
/// The shared-memory home of one conntrack table's connections, so they outlive the process that tracks them (as
/// Cilium pins its CT maps in bpffs): a file — on a tmpfs, so nothing is ever written back to a disk — mapped
/// shared, holding a header, the <see cref="CtEntry"/> lines and the <see cref="CtNat"/> translations. The next
/// process maps the same file and finds the connections; the table's index and free list are derived from the
/// entries (<see cref="ConntrackTable(ConntrackFile, uint)"/>), so the file never holds a half-updated index.
/// The header (magic, <see cref="CtLayout.Version"/>, sizes, capacity, <see cref="CtLayout.Checksum"/>, its own
/// checksum) is validated before anything is read; a file that does not match — another build's layout, another
/// capacity, a torn header — is discarded and the table starts empty (<see cref="Discarded"/> says why).
/// The file is held with an exclusive flock while mapped: a second process gets <see cref="ConntrackFileBusyException"/>.
/// </summary>
public sealed unsafe class ConntrackFile : IDisposable
{
    /// <summary>"DPCTRACK" little-endian.</summary>
    public const ulong Magic = 0x4B43_4152_5443_5044;
    /// <summary>Entries and translations start on 2 MiB boundaries, so a tmpfs mounted with huge=within_size backs them with huge pages.</summary>
    private const long Align = 2 << 20;

    [StructLayout(LayoutKind.Explicit, Size = 64)]
    internal struct Header
    {
        [FieldOffset(0)] public ulong Magic;
        [FieldOffset(8)] public uint LayoutVersion;
        [FieldOffset(12)] public uint HeaderSize;
        [FieldOffset(16)] public uint EntrySize;
        [FieldOffset(20)] public uint NatSize;
        [FieldOffset(24)] public uint Capacity;
        [FieldOffset(28)] public uint Reserved;
        [FieldOffset(32)] public ulong LayoutChecksum;
        [FieldOffset(40)] public long EntriesOffset;
        [FieldOffset(48)] public long NatOffset;
        /// <summary>XxHash64 of bytes 0–55.</summary>
        [FieldOffset(56)] public ulong HeaderChecksum;
    }

    private readonly FileStream _file;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    private ConntrackFile(string path, FileStream file, MemoryMappedFile map, MemoryMappedViewAccessor view, Header h, bool reused, string? discarded)
    {
        Reused = reused;
        Path = path;
        _file = file;
        _map = map;
        _view = view;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
        _base += view.PointerOffset;
        Capacity = (int)h.Capacity;
        Entries = (CtEntry*)(_base + h.EntriesOffset);
        Nat = (CtNat*)(_base + h.NatOffset);
        Discarded = discarded;
    }

    public string Path { get; }
    public int Capacity { get; }
    internal CtEntry* Entries { get; }
    internal CtNat* Nat { get; }

    /// <summary>Whether the file already held a table of this layout (its connections are to be recovered).</summary>
    public bool Reused { get; }

    /// <summary>Why an existing file's contents were thrown away (null: reused, or the file is new).</summary>
    public string? Discarded { get; }

    /// <summary>
    /// Opens (creating it, mode 0600) the table file at <paramref name="path"/> for <paramref name="capacity"/>
    /// connections. A file of this layout and capacity is reused as it is; any other is truncated and started afresh.
    /// Throws <see cref="ConntrackFileBusyException"/> when another process holds it, IOException when it cannot be
    /// created or sized.
    /// </summary>
    public static ConntrackFile Open(string path, int capacity)
    {
        if (capacity is < 1 or > (1 << 30)) throw new ArgumentOutOfRangeException(nameof(capacity));
        var expected = HeaderFor(capacity);
        long size = expected.NatOffset + (((long)capacity * sizeof(CtNat) + 4095) & ~4095L);
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite,
            // FileShare.None is flock(LOCK_EX | LOCK_NB) on Linux: held until this process closes it or dies.
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        FileStream file;
        try { file = new FileStream(path, options); }
        catch (IOException e) when (File.Exists(path) && e is not FileNotFoundException)
        {
            throw new ConntrackFileBusyException($"conntrack file {path} is held by another process");
        }
        try
        {
            string? discarded = null;
            bool reused = false;
            if (file.Length > 0)
            {
                discarded = Validate(file, expected, size);
                reused = discarded is null;
            }
            if (!reused)
            {
                // Zero-filled and sparse on a tmpfs: pages are allocated as connections arrive.
                file.SetLength(0);
                file.SetLength(size);
            }
            var map = MemoryMappedFile.CreateFromFile(file, null, size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            var view = map.CreateViewAccessor(0, size, MemoryMappedFileAccess.ReadWrite);
            var ct = new ConntrackFile(path, file, map, view, expected, reused, discarded);
            Routing.TableMemory.AdviseHugePages(ct.Entries, (nuint)((long)capacity * sizeof(CtEntry)));
            // The header last: a file cut short by a crash before this point is discarded next time, never misread.
            if (!reused) *(Header*)ct._base = expected;
            return ct;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The header this build writes for <paramref name="capacity"/> connections.</summary>
    internal static Header HeaderFor(int capacity)
    {
        long entries = Align;
        long nat = entries + (((long)capacity * sizeof(CtEntry) + Align - 1) & ~(Align - 1));
        var h = new Header
        {
            Magic = Magic, LayoutVersion = CtLayout.Version, HeaderSize = (uint)sizeof(Header),
            EntrySize = (uint)sizeof(CtEntry), NatSize = (uint)sizeof(CtNat), Capacity = (uint)capacity,
            LayoutChecksum = CtLayout.Checksum, EntriesOffset = entries, NatOffset = nat,
        };
        h.HeaderChecksum = ChecksumOf(h);
        return h;
    }

    private static ulong ChecksumOf(Header h) => XxHash64.HashToUInt64(new ReadOnlySpan<byte>(&h, 56));

    /// <summary>Null when <paramref name="file"/> holds a table this build can adopt; else what differs.</summary>
    private static string? Validate(FileStream file, Header expected, long size)
    {
        Header h = default;
        var bytes = new Span<byte>(&h, sizeof(Header));
        file.Position = 0;
        if (file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length) return "header cut short";
        if (h.Magic != Magic) return "not a conntrack file (bad magic)";
        if (h.HeaderChecksum != ChecksumOf(h)) return "header checksum mismatch";
        if (h.LayoutVersion != expected.LayoutVersion) return $"layout version {h.LayoutVersion}, this build writes {expected.LayoutVersion}";
        if (h.EntrySize != expected.EntrySize || h.NatSize != expected.NatSize || h.HeaderSize != expected.HeaderSize)
            return $"entry size {h.EntrySize}/{h.NatSize}, this build uses {expected.EntrySize}/{expected.NatSize}";
        if (h.LayoutChecksum != expected.LayoutChecksum) return $"layout checksum {h.LayoutChecksum:x16}, this build {expected.LayoutChecksum:x16}";
        if (h.Capacity != expected.Capacity) return $"capacity {h.Capacity}, this agent is configured for {expected.Capacity}";
        if (h.EntriesOffset != expected.EntriesOffset || h.NatOffset != expected.NatOffset) return "section offsets differ";
        if (file.Length != size) return $"file size {file.Length}, expected {size}";
        return null;
    }

    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        _file.Dispose();
    }
}

/// <summary>Another process holds the conntrack file (an agent serving the same node is running).</summary>
public sealed class ConntrackFileBusyException(string message) : IOException(message);
