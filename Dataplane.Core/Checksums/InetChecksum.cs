namespace Dataplane.Core.Checksums;
public static unsafe class InetChecksum
{
    public static uint Sum(byte* p, int len, uint initial = 0)
    {
        ulong s = initial; int i = 0;
        for (; i + 1 < len; i += 2) s += (uint)((p[i] << 8) | p[i + 1]);
        if (i < len) s += (uint)(p[i] << 8);
        while ((s >> 32) != 0) s = (s & 0xFFFFFFFF) + (s >> 32);
        return (uint)s;
    }
    public static ushort FoldNoComplement(uint s) { while ((s >> 16) != 0) s = (s & 0xFFFF) + (s >> 16); return (ushort)s; }
    public static ushort Fold(uint s) => (ushort)~FoldNoComplement(s);
    public static ushort Update16(ushort hc, ushort m, ushort m2) { uint s = (uint)(ushort)~hc + (ushort)~m + m2; return (ushort)~FoldNoComplement(s); }
}
