using System.Runtime.InteropServices;

namespace Dataplane.Core.Packets;

/// <summary>
/// Fixed-size packet buffers in one aligned native block, for the in-memory backend (replay, tests,
/// benchmarks). Each frame reserves <see cref="Headroom"/> bytes in front of the packet for encapsulation,
/// as a UMEM frame or an mbuf does. Free frames sit on a stack of indices; nothing is allocated per packet.
/// </summary>
public sealed unsafe class PacketPool : IDisposable
{
    public const int DefaultFrameSize = 2048;
    public const int DefaultHeadroom = 256;

    private byte* _base;
    private readonly int[] _free;
    private int _freeCount;

    public PacketPool(int frames, int frameSize = DefaultFrameSize, int headroom = DefaultHeadroom)
    {
        if (frames <= 0) throw new ArgumentOutOfRangeException(nameof(frames));
        if (frameSize is < 128 or > 65535 || headroom < 0 || headroom >= frameSize)
            throw new ArgumentOutOfRangeException(nameof(frameSize));
        Frames = frames; FrameSize = frameSize; Headroom = headroom;
        _base = (byte*)NativeMemory.AlignedAlloc((nuint)frames * (nuint)frameSize, 4096);
        _free = new int[frames];
        for (int i = 0; i < frames; i++) _free[i] = frames - 1 - i;
        _freeCount = frames;
    }

    public int Frames { get; }
    public int FrameSize { get; }
    public int Headroom { get; }
    public int Available => _freeCount;

    /// <summary>Largest packet a frame can hold after the headroom.</summary>
    public int MaxPacket => FrameSize - Headroom;

    /// <summary>Takes a frame and points <paramref name="meta"/> at it with an empty packet. False when exhausted.</summary>
    public bool TryAlloc(ref PacketMeta meta)
    {
        if (_freeCount == 0) return false;
        int idx = _free[--_freeCount];
        meta.BufferHandle = (ulong)idx;
        meta.Data = _base + (long)idx * FrameSize + Headroom;
        meta.Headroom = (ushort)Headroom;
        meta.Capacity = (ushort)(FrameSize - Headroom);
        meta.Length = 0;
        return true;
    }

    /// <summary>Allocates a frame and copies <paramref name="packet"/> into it (truncating nothing: too long is false).</summary>
    public bool TryLoad(ref PacketMeta meta, ReadOnlySpan<byte> packet, ushort inPort)
    {
        if (packet.Length > MaxPacket || !TryAlloc(ref meta)) return false;
        packet.CopyTo(new Span<byte>(meta.Data, packet.Length));
        meta.Length = (ushort)packet.Length;
        meta.ResetForRx(inPort);
        return true;
    }

    public void Free(in PacketMeta meta)
    {
        int idx = (int)meta.BufferHandle;
        if ((uint)idx >= (uint)Frames) throw new ArgumentException("buffer does not belong to this pool");
        _free[_freeCount++] = idx;
    }

    public void Dispose()
    {
        if (_base != null) { NativeMemory.AlignedFree(_base); _base = null; }
        GC.SuppressFinalize(this);
    }

    ~PacketPool() { if (_base != null) NativeMemory.AlignedFree(_base); }
}
