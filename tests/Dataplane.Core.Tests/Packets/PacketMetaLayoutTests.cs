using System.Runtime.CompilerServices;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Tests.Packets;

/// <summary>The eBPF and DPDK backends mirror these offsets; a change here must be deliberate.</summary>
public unsafe class PacketMetaLayoutTests
{
    private static int Off<T>(ref PacketMeta m, ref T field) =>
        (int)Unsafe.ByteOffset(ref Unsafe.As<PacketMeta, byte>(ref m), ref Unsafe.As<T, byte>(ref field));

    [Fact]
    public void OffsetsArePinned()
    {
        var m = new PacketMeta();
        Assert.Equal(128, sizeof(PacketMeta));
        Assert.Equal(0, Off(ref m, ref Unsafe.As<PacketMeta, nint>(ref m)));
        Assert.Equal(8, Off(ref m, ref m.BufferHandle));
        Assert.Equal(16, Off(ref m, ref m.Length));
        Assert.Equal(18, Off(ref m, ref m.Headroom));
        Assert.Equal(20, Off(ref m, ref m.Capacity));
        Assert.Equal(22, Off(ref m, ref m.InPort));
        Assert.Equal(24, Off(ref m, ref m.EtherType));
        Assert.Equal(26, Off(ref m, ref m.VlanId));
        Assert.Equal(28, Off(ref m, ref m.L3Offset));
        Assert.Equal(30, Off(ref m, ref m.L4Offset));
        Assert.Equal(32, Off(ref m, ref m.PayloadOffset));
        Assert.Equal(34, Off(ref m, ref m.SrhOffset));
        Assert.Equal(36, Off(ref m, ref m.Flags));
        Assert.Equal(38, Off(ref m, ref m.IpVersion));
        Assert.Equal(39, Off(ref m, ref m.L4Proto));
        Assert.Equal(40, Off(ref m, ref m.SrcPort));
        Assert.Equal(42, Off(ref m, ref m.DstPort));
        Assert.Equal(44, Off(ref m, ref m.TcpFlags));
        Assert.Equal(45, Off(ref m, ref m.IcmpType));
        Assert.Equal(46, Off(ref m, ref m.IcmpCode));
        Assert.Equal(47, Off(ref m, ref m.Ttl));
        Assert.Equal(48, Off(ref m, ref m.FlowHash));
        Assert.Equal(52, Off(ref m, ref m.InnerOffset));
        Assert.Equal(56, Off(ref m, ref m.Vni));
        Assert.Equal(64, Off(ref m, ref m.SrcIdentity));
        Assert.Equal(68, Off(ref m, ref m.DstIdentity));
        Assert.Equal(72, Off(ref m, ref m.NextHop));
        Assert.Equal(76, Off(ref m, ref m.SrcEndpoint));
        Assert.Equal(80, Off(ref m, ref m.DstEndpoint));
        Assert.Equal(84, Off(ref m, ref m.CtIndex));
        Assert.Equal(88, Off(ref m, ref m.OutPort));
        Assert.Equal(90, Off(ref m, ref m.CtState));
        Assert.Equal(91, Off(ref m, ref m.Verdict));
        Assert.Equal(92, Off(ref m, ref m.DropReason));
        Assert.Equal(93, Off(ref m, ref m.Direction));
        Assert.Equal(94, Off(ref m, ref m.DecidedBy));
        Assert.Equal(96, Off(ref m, ref m.PolicyRule));
        Assert.Equal(100, Off(ref m, ref m.IngressPolicyRule));
    }

    [Fact]
    public void PushAndPullMoveTheHeadroom()
    {
        using var pool = new PacketPool(4);
        var m = new PacketMeta();
        Assert.True(pool.TryLoad(ref m, new byte[100], 3));
        var start = (nint)m.Data;
        Assert.True(m.Push(50));
        Assert.Equal(150, m.Length);
        Assert.Equal(PacketPool.DefaultHeadroom - 50, m.Headroom);
        Assert.Equal(start - 50, (nint)m.Data);
        Assert.False(m.Push(PacketPool.DefaultHeadroom));
        Assert.True(m.Pull(50));
        Assert.Equal(start, (nint)m.Data);
        Assert.Equal(3, m.InPort);
        Assert.Equal(uint.MaxValue, m.CtIndex);
        pool.Free(m);
        Assert.Equal(4, pool.Available);
    }
}
