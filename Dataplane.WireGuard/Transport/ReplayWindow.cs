using System.Runtime.CompilerServices;

namespace Dataplane.WireGuard.Transport;

/// <summary>
/// The sliding window of received transport counters (whitepaper §5.4.6, RFC 6479's bitmap without shifting):
/// a ring of 128 64-bit blocks, so 8128 counters behind the highest one seen are still accepted once each —
/// the size wireguard-go and the Linux module use. Checked before decryption (cheap rejection of old counters)
/// and updated only after the packet authenticated.
/// </summary>
public sealed class ReplayWindow
{
    private const int BlockBitLog = 6, BlockBits = 1 << BlockBitLog, RingBlocks = 128, BlockMask = RingBlocks - 1;
    public const ulong WindowSize = (RingBlocks - 1) * BlockBits;

    private readonly ulong[] _ring = new ulong[RingBlocks];
    private ulong _last;

    /// <summary>False when the counter is certainly a replay or too old; true does not record it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MayAccept(ulong counter)
    {
        if (counter > _last) return true;
        if (_last - counter >= WindowSize) return false;
        ulong block = counter >> BlockBitLog;
        return (_ring[(int)(block & BlockMask)] & (1UL << (int)(counter & (BlockBits - 1)))) == 0;
    }

    /// <summary>Records an authenticated counter; false when it was seen before or is outside the window.</summary>
    public bool Accept(ulong counter)
    {
        ulong block = counter >> BlockBitLog;
        if (counter > _last)
        {
            ulong current = _last >> BlockBitLog;
            ulong diff = Math.Min(block - current, RingBlocks);
            for (ulong i = 1; i <= diff; i++) _ring[(int)((current + i) & BlockMask)] = 0;
            _last = counter;
        }
        else if (_last - counter >= WindowSize) return false;
        ref ulong slot = ref _ring[(int)(block & BlockMask)];
        ulong bit = 1UL << (int)(counter & (BlockBits - 1));
        if ((slot & bit) != 0) return false;
        slot |= bit;
        return true;
    }
}
