using Dataplane.Linux.Interop;

namespace Dataplane.Linux.AfXdp;

/// <summary>
/// The packet memory of one worker's AF_XDP sockets: fixed-size, aligned chunks in one anonymous mapping,
/// registered by the first socket and shared (XDP_SHARED_UMEM) by the others, so a frame received on one port
/// is transmitted on another without a copy. Free chunks sit on a stack; only the worker thread touches it.
/// </summary>
public sealed unsafe class XdpUmem : IDisposable
{
    private readonly ulong[] _free;
    private int _freeCount;

    public XdpUmem(int frames, int frameSize = 2048)
    {
        if (frameSize < 2048 || (frameSize & (frameSize - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(frameSize), "a power of two ≥ 2048");
        Frames = frames; FrameSize = frameSize;
        Size = (nuint)frames * (nuint)frameSize;
        void* p = LibC.mmap(null, Size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_POPULATE, -1, 0);
        if (p == LibC.MAP_FAILED) throw Errno.Error("mmap(UMEM)");
        Area = (byte*)p;
        _free = new ulong[frames];
        for (int i = 0; i < frames; i++) _free[i] = (ulong)(frames - 1 - i) * (ulong)frameSize;
        _freeCount = frames;
    }

    public byte* Area { get; private set; }
    public nuint Size { get; }
    public int Frames { get; }
    public int FrameSize { get; }
    public int Available => _freeCount;
    public ulong ChunkMask => ~(ulong)(FrameSize - 1);

    /// <summary>The socket the UMEM is registered on (XDP_UMEM_REG), -1 before the first port binds.</summary>
    public int OwnerFd { get; internal set; } = -1;

    /// <summary>Whether the owner bound in zero-copy mode (sharers inherit it).</summary>
    public bool ZeroCopy { get; internal set; }

    public bool Contains(byte* p) => p >= Area && p < Area + Size;

    public bool TryAlloc(out ulong chunk)
    {
        if (_freeCount == 0) { chunk = 0; return false; }
        chunk = _free[--_freeCount];
        return true;
    }

    /// <summary>Returns the chunk holding <paramref name="addr"/> (any offset inside it).</summary>
    public void Free(ulong addr) => _free[_freeCount++] = addr & ChunkMask;

    public void Dispose()
    {
        if (Area != null) { LibC.munmap(Area, Size); Area = null; }
    }
}
