using Dataplane.Core.Packets;
using Dataplane.Core.Ports;
using Dataplane.Dpdk.Eal;
using Dataplane.Dpdk.Ethdev;
using Dataplane.Dpdk.Tests.Support;

namespace Dataplane.Dpdk.Tests;

/// <summary>
/// The DPDK port in this process over net_null (a source of 64-byte frames) and net_ring (transmit loops back to
/// receive): zero-copy tx→rx, encapsulation into mbuf headroom, refused transmits freed, driver stats, and the
/// clear errors for a second EAL init and a pool larger than the EAL's memory.
/// </summary>
[Collection("eal")]
public sealed unsafe class PortInProcessTests(EalFixture eal)
{
    private EalFixture Eal
    {
        get
        {
            DpdkEnv.Require();
            return eal;
        }
    }

    /// <summary>Receives a burst from net_null and stamps each frame with a recognisable pattern.</summary>
    private static int ReceiveStamped(DpdkPort source, Batch batch, int want)
    {
        batch.Count = 0;
        for (int tries = 0; tries < 100 && batch.Count < want; tries++) source.RxBurst(batch);
        for (int i = 0; i < batch.Count; i++)
        {
            var bytes = batch[i].Bytes;
            for (int b = 0; b < bytes.Length; b++) bytes[b] = (byte)(i * 7 + b);
        }
        return batch.Count;
    }

    [SkippableFact]
    public void RingLoopTransmitsTheSameMbufsReceivesTheBytesCountsStatsLeaksNothing()
    {
        var f = Eal;
        uint avail0 = f.Pool.Available;
        f.Ring0.ResetStats();
        using var src = new DpdkPort(0, f.Null0);
        using var ring = new DpdkPort(1, f.Ring0);
        using var batch = new Batch(32);
        int n = ReceiveStamped(src, batch, 32);
        Assert.Equal(32, n);
        Assert.Equal(64, batch[0].Length);
        Assert.Equal(128, batch[0].Headroom);
        Assert.Equal(MbufPool.DefaultDataRoom - 128, batch[0].Capacity);
        var handles = new ulong[n];
        var idx = new ushort[n];
        for (int i = 0; i < n; i++) { handles[i] = batch[i].BufferHandle; idx[i] = (ushort)i; }

        Assert.Equal(n, ring.TxBurst(batch, idx));
        for (int i = 0; i < n; i++) Assert.Equal(PortBuffers.Taken, batch[i].BufferHandle);
        src.Release(batch, 0, n);

        using var back = new Batch(64);
        Assert.Equal(n, ring.RxBurst(back));
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(handles[i], back[i].BufferHandle); // the same mbuf: no copy anywhere
            Assert.Equal(1, back[i].InPort);
            var bytes = back[i].Bytes;
            for (int b = 0; b < bytes.Length; b++) Assert.Equal((byte)(i * 7 + b), bytes[b]);
        }
        ring.Release(back, 0, n);

        var st = f.Ring0.Stats();
        Assert.Equal((ulong)n, st.TxPackets);
        Assert.Equal((ulong)n, st.RxPackets);
        Assert.Equal((ulong)n * 64, ring.Stats.TxBytes); // net_ring counts packets only
        Assert.Equal((ulong)n, ring.Stats.TxPackets);
        Assert.Equal((ulong)n, ring.Stats.RxPackets);
        Assert.Equal((ulong)n, src.Stats.RxPackets);
        Assert.Equal(avail0, f.Pool.Available);
        Assert.True(f.Ring0.Link.Up);
        Assert.Equal("net_ring0", f.Ring0.Name);
    }

    [SkippableFact]
    public void PushedHeaderGoesIntoMbufHeadroomAndIsTransmitted()
    {
        var f = Eal;
        uint avail0 = f.Pool.Available;
        using var src = new DpdkPort(0, f.Null0);
        using var ring = new DpdkPort(1, f.Ring1);
        using var batch = new Batch(4);
        Assert.Equal(4, ReceiveStamped(src, batch, 4));
        ref PacketMeta m = ref batch[0];
        byte* inner = m.Data;
        Assert.True(m.Push(50)); // VXLAN-sized outer headers
        Assert.True(m.Data == inner - 50);
        for (int b = 0; b < 50; b++) m.Data[b] = 0xee;
        Assert.Equal(1, ring.TxBurst(batch, [0]));
        src.Release(batch, 0, batch.Count); // 1..3 were not transmitted: freed here

        using var back = new Batch(8);
        Assert.Equal(1, ring.RxBurst(back));
        Assert.Equal(114, back[0].Length);
        Assert.Equal(128 - 50, back[0].Headroom);
        Assert.True(back[0].Data == inner - 50);
        Assert.Equal(0xee, back[0].Data[49]);
        Assert.Equal(0, back[0].Data[50]); // first byte of the original frame (pattern 0*7+0)
        ring.Release(back, 0, 1);
        Assert.Equal(avail0, f.Pool.Available);
    }

    [SkippableFact]
    public void TransmitsTheRingRefusesAreCountedAndFreed()
    {
        var f = Eal;
        uint avail0 = f.Pool.Available;
        using var src = new DpdkPort(0, f.Null0);
        using var ring = new DpdkPort(1, f.Ring1);
        using var batch = new Batch();
        var all = Enumerable.Range(0, Batch.MaxSize).Select(i => (ushort)i).ToArray();
        int sent = 0, offered = 0;
        // Fill the ring without draining it: the transmit burst that no longer fits is refused in part.
        for (int round = 0; round < 40 && ring.Stats.TxDropped == 0; round++)
        {
            int n = ReceiveStamped(src, batch, Batch.MaxSize);
            offered += n;
            sent += ring.TxBurst(batch, all.AsSpan(0, n));
            src.Release(batch, 0, n);
        }
        Assert.True(ring.Stats.TxDropped > 0, "the ring never filled");
        Assert.Equal((ulong)(offered - sent), ring.Stats.TxDropped);
        Assert.Equal((ulong)sent, ring.Stats.TxPackets);
        Assert.Equal((uint)sent, f.Pool.InUse - (f.Pool.Count - avail0));

        // Drain: everything comes back once.
        int drained = 0;
        for (int round = 0; round < 200 && drained < sent; round++)
        {
            batch.Count = 0;
            int got = ring.RxBurst(batch);
            drained += got;
            ring.Release(batch, 0, got);
        }
        Assert.Equal(sent, drained);
        Assert.Equal(avail0, f.Pool.Available);
    }

    /// <summary>net_memif: the client transmits, the server receives the same bytes over the shared-memory rings.</summary>
    [SkippableFact]
    public void MemifClientToServerCarriesTheFrames()
    {
        var f = Eal;
        uint avail0 = f.Pool.Available;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!(f.MemifServer.Link.Up && f.MemifClient.Link.Up) && DateTime.UtcNow < until) Thread.Sleep(50);
        Assert.True(f.MemifServer.Link.Up && f.MemifClient.Link.Up, "memif link did not come up");
        Assert.Equal("net_memif", f.MemifServer.Driver);
        using var src = new DpdkPort(0, f.Null0);
        using var client = new DpdkPort(1, f.MemifClient);
        using var server = new DpdkPort(2, f.MemifServer);
        using var batch = new Batch(16);
        int n = ReceiveStamped(src, batch, 16);
        var idx = Enumerable.Range(0, n).Select(i => (ushort)i).ToArray();
        int sent = client.TxBurst(batch, idx);
        src.Release(batch, 0, n);
        Assert.Equal(n, sent);

        using var back = new Batch(64);
        for (int tries = 0; tries < 200 && back.Count < n; tries++) { if (server.RxBurst(back) == 0) Thread.Sleep(5); }
        Assert.Equal(n, back.Count);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(2, back[i].InPort);
            var bytes = back[i].Bytes;
            Assert.Equal(64, bytes.Length);
            for (int b = 0; b < bytes.Length; b++) Assert.Equal((byte)(i * 7 + b), bytes[b]);
        }
        server.Release(back, 0, back.Count);
        Assert.Equal((ulong)n, server.Stats.RxPackets);
        Assert.Equal(avail0, f.Pool.Available);
    }

    [SkippableFact]
    public void SecondEalInitIsAClearError()
    {
        _ = Eal;
        var e = Assert.Throws<DpdkException>(() => DpdkEal.Init(["--no-huge"]));
        Assert.Contains("one rte_eal_init per process", e.Message);
    }

    [SkippableFact]
    public void PoolLargerThanEalMemoryIsAClearError()
    {
        _ = Eal;
        var e = Assert.Throws<DpdkException>(() => new MbufPool("dpt_too_big", 1_000_000));
        Assert.Contains("cannot create mbuf pool", e.Message);
        Assert.Contains("-m", e.Message);
    }

    [SkippableFact]
    public void UnknownPortIsNotFoundRuntimeDirIsThePrefix()
    {
        var f = Eal;
        Assert.Null(EthDev.FindPort("net_ring9"));
        Assert.Contains("net_ring0", EthDev.AllPortNames());
        Assert.Equal(f.Prefix, Path.GetFileName(f.Eal!.RuntimeDir));
    }
}
