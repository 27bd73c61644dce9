namespace Dataplane.Core.Neighbors;

/// <summary>What a <see cref="FrameRing"/> record carries.</summary>
public enum FrameKind : byte
{
    /// <summary>Worker → resolver: a packet for a neighbour without a usable MAC (the frame, ready but for its
    /// destination MAC).</summary>
    Miss = 1,
    /// <summary>Worker → resolver: a reply (ARP reply, NA) or gratuitous announcement gave the neighbour's MAC.</summary>
    Confirmed = 2,
    /// <summary>Worker → resolver: the neighbour's own solicitation for one of our addresses named its MAC (the
    /// kernel creates a Stale entry from it).</summary>
    Seen = 3,
    /// <summary>Resolver → worker: a frame to transmit as is on the record's port.</summary>
    Transmit = 4,
}

/// <summary>One record's fixed part.</summary>
public readonly record struct FrameHeader(FrameKind Kind, ushort Port, bool Ipv6, UInt128 Address, ulong Mac, int Length)
{
    public NeighborKey Key => new(Port, Ipv6, Address);
}

/// <summary>
/// A bounded single-producer single-consumer ring of records with an optional frame of up to
/// <see cref="MaxFrame"/> bytes each, over memory allocated once: how a worker hands misses and learned addresses
/// to the resolver, and how the resolver hands frames to a worker to transmit, without locks or allocation.
/// A full ring refuses the record (the caller counts it).
/// </summary>
public sealed class FrameRing
{
    /// <summary>Largest frame a record holds: a 1500-byte MTU packet with VXLAN/SRv6 and VLAN headers fits.</summary>
    public const int MaxFrame = 2048;

    private readonly FrameHeader[] _headers;
    private readonly byte[] _data;
    private readonly int _mask;
    private long _head;   // next record to write (producer only)
    private long _tail;   // next record to read (consumer only)

    public FrameRing(int records = 256)
    {
        if (records < 2 || (records & (records - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(records), "a power of two ≥ 2");
        _headers = new FrameHeader[records];
        _data = new byte[records * MaxFrame];
        _mask = records - 1;
    }

    public int Capacity => _mask + 1;

    /// <summary>Records written and not yet read (slightly stale from the other side).</summary>
    public int Count => (int)(Volatile.Read(ref _head) - Volatile.Read(ref _tail));

    /// <summary>Producer: appends a record; false when the ring is full or the frame too long.</summary>
    public bool TryWrite(FrameKind kind, ushort port, bool ipv6, UInt128 address, ulong mac, ReadOnlySpan<byte> frame)
    {
        long head = _head;
        if (frame.Length > MaxFrame || head - Volatile.Read(ref _tail) > _mask) return false;
        int i = (int)(head & _mask);
        frame.CopyTo(_data.AsSpan(i * MaxFrame, MaxFrame));
        _headers[i] = new FrameHeader(kind, port, ipv6, address, mac, frame.Length);
        Volatile.Write(ref _head, head + 1);
        return true;
    }

    /// <summary>Consumer: the oldest record, valid until <see cref="Advance"/>; false when empty.</summary>
    public bool TryPeek(out FrameHeader header, out Span<byte> frame)
    {
        long tail = _tail;
        if (tail == Volatile.Read(ref _head)) { header = default; frame = default; return false; }
        int i = (int)(tail & _mask);
        header = _headers[i];
        frame = _data.AsSpan(i * MaxFrame, header.Length);
        return true;
    }

    /// <summary>Consumer: releases the record <see cref="TryPeek"/> returned.</summary>
    public void Advance() => Volatile.Write(ref _tail, _tail + 1);
}
