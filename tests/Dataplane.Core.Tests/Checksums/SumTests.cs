using Dataplane.Core.Checksums;

namespace Dataplane.Core.Tests.Checksums;

public unsafe class SumTests
{
    private delegate ulong Kernel(byte* p, int len);

    private static readonly (string Name, Kernel Run)[] Kernels =
    [
        ("Scalar16", SumKernels.Scalar16),
        ("Wide", SumKernels.Wide),
        ("Vector128", SumKernels.Vector128Kernel),
        ("Vector256", SumKernels.Vector256Kernel),
    ];

    private static ushort ViaKernel(Kernel kernel, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data) return InetChecksum.FoldNoComplement(InetChecksum.AddNative(0, kernel(p, data.Length)));
    }

    [Fact]
    public void Rfc1071ExampleWords()
    {
        // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2 (checksum 220d).
        byte[] data = ReferenceChecksum.Hex("00 01 f2 03 f4 f5 f6 f7");
        Assert.Equal(0xDDF2, InetChecksum.FoldNoComplement(InetChecksum.Sum(data)));
        Assert.Equal(0x220D, InetChecksum.Fold(InetChecksum.Sum(data)));
    }

    [Fact]
    public void EmptyAndOddLengths()
    {
        Assert.Equal(0u, InetChecksum.Sum([]));
        Assert.Equal(0xFFFF, InetChecksum.Fold(0));
        Assert.Equal(0xAB00, InetChecksum.FoldNoComplement(InetChecksum.Sum([0xAB])));
        Assert.Equal(0x0102 + 0x0300, (int)InetChecksum.FoldNoComplement(InetChecksum.Sum([1, 2, 3])));
    }

    [Fact]
    public void AllLengthsUpTo300MatchReferenceAtEveryAlignment()
    {
        var rng = new Random(1071);
        byte[] buffer = new byte[300 + 64];
        for (int round = 0; round < 4; round++)
        {
            rng.NextBytes(buffer);
            for (int offset = 0; offset < 8; offset++)
            for (int len = 0; len <= 300; len++)
            {
                ReadOnlySpan<byte> data = buffer.AsSpan(offset, len);
                ushort expected = ReferenceChecksum.FoldedSum(data);
                Assert.Equal(expected, InetChecksum.FoldNoComplement(InetChecksum.Sum(data)));
                Assert.Equal((ushort)~expected, InetChecksum.Fold(InetChecksum.Sum(data)));
                foreach (var (name, run) in Kernels)
                {
                    ushort got = ViaKernel(run, data);
                    Assert.True(expected == got, $"{name} len={len} offset={offset}: {got:x4} != {expected:x4}");
                }
            }
        }
    }

    [Fact]
    public void PointerOverloadMatchesSpan()
    {
        byte[] data = new byte[1500];
        new Random(7).NextBytes(data);
        fixed (byte* p = data)
            Assert.Equal(InetChecksum.Sum(data, 0x1234), InetChecksum.Sum(p, data.Length, 0x1234));
    }

    [Fact]
    public void InitialValueChainsEvenChunks()
    {
        byte[] data = new byte[999];
        new Random(3).NextBytes(data);
        uint chained = InetChecksum.Sum(data.AsSpan(100), InetChecksum.Sum(data.AsSpan(0, 100)));
        Assert.Equal(ReferenceChecksum.FoldedSum(data), InetChecksum.FoldNoComplement(chained));
    }

    [Fact]
    public void LargeInitialCarriesAround()
    {
        byte[] data = [0xFF, 0xFF, 0xFF, 0xFF];
        uint sum = InetChecksum.Sum(data, 0xFFFF_FFFF);
        Assert.Equal(ReferenceChecksum.FoldedSum(data, 0xFFFF_FFFF), InetChecksum.FoldNoComplement(sum));
    }

    [Theory]
    [InlineData(0xFF)]
    [InlineData(0x5A)]
    public void HugeBuffersDoNotOverflowVectorLanes(byte fill)
    {
        // Several vector blocks' worth (the kernels spill lanes every 32768 iterations).
        byte[] data = new byte[(5 << 20) + 13];
        data.AsSpan().Fill(fill);
        data[^1] = 0xFF;
        ushort expected = ReferenceChecksum.FoldedSum(data);
        foreach (var (name, run) in Kernels)
            Assert.True(expected == ViaKernel(run, data), name);
    }

    [Fact]
    public void FoldHandlesAllCarries()
    {
        Assert.Equal(0xFFFF, InetChecksum.FoldNoComplement(0xFFFF_FFFF));
        Assert.Equal(0x0001, InetChecksum.FoldNoComplement(0x0001_0000));
        Assert.Equal(0xFFFF, InetChecksum.FoldNoComplement(0xFFFE_0001));
        Assert.Equal(0, InetChecksum.FoldNoComplement(0));
    }
}
