using System.Buffers.Binary;
using System.Net;
using Dataplane.Core.Checksums;
using Dataplane.Core.Drops;
using Dataplane.Core.Neighbors;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Tests.Neighbors;

/// <summary>
/// The NUD state machine, the bounded queue and ageing of <see cref="NeighborResolver"/>, driven through the rings
/// a worker uses and an injected clock (no real waiting): what it transmits is captured and decoded.
/// </summary>
public sealed class NeighborResolverTests
{
    private const ulong OurMac = 0x02_00_00_00_0e_01, PeerMac = 0x02_00_00_00_0e_77;
    private static readonly uint Peer4 = Ip4("198.18.0.7"), Our4 = Ip4("198.18.0.1");
    private static readonly UInt128 Peer6 = Ip6("2001:db8:0:1::7"), Our6 = Ip6("2001:db8:0:1::1");

    private long _now = 1_000_000;
    private readonly List<(ushort Port, byte[] Frame)> _sent = [];
    private readonly NeighborResolver _r;
    private readonly WorkerNeighbors _worker;

    public NeighborResolverTests()
    {
        _r = new NeighborResolver(new NeighborOptions { Capacity = 64 }, () => _now);
        _r.Transmit = (port, frame) => { _sent.Add((port, frame.ToArray())); return true; };
        _worker = new WorkerNeighbors(_r.Table, 64);
        _r.Configure(Snapshot());
        _sent.Clear();   // the announcements: AnnouncesEachAddressOnce checks them
    }

    private static DatapathSnapshot Snapshot(bool withStatic = false)
    {
        var b = new SnapshotBuilder();
        b.AddInterface("eth0", OurMac, 1500, [new PortAddress(Our4, 24, false), new PortAddress(Our6, 64, true)]);
        if (withStatic) b.AddStaticNeighbor(IPAddress.Parse("198.18.0.9"), 0, 0x02_00_00_00_00_09);
        return b.Build();
    }

    private void Miss(uint ip, int bytes = 60) => Assert.True(_worker.Post(FrameKind.Miss, 0, false, ip, 0, new byte[bytes]));

    private void Post(FrameKind kind, bool v6, UInt128 ip, ulong mac) => Assert.True(_worker.Post(kind, 0, v6, ip, mac));

    private void Drain() => _r.Drain(_worker.ToResolver);

    private NudState StateOf(bool v6, UInt128 ip) => _r.List().Single(e => e.Key == new NeighborKey(0, v6, ip)).State;

    [Fact]
    public void Miss_SolicitsOnce_QueuesUpToTheBound_DropsTheRestCounted()
    {
        for (int i = 0; i < 5; i++) Miss(Peer4);
        Drain();

        var arp = Assert.Single(_sent);
        Assert.Equal(42, arp.Frame.Length);
        Assert.Equal(NeighborFrames.Broadcast, Mac(arp.Frame, 0));
        Assert.Equal(OurMac, Mac(arp.Frame, 6));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(arp.Frame.AsSpan(20)));       // request
        Assert.Equal(Our4, BinaryPrimitives.ReadUInt32BigEndian(arp.Frame.AsSpan(28)));    // from our address in that subnet
        Assert.Equal(Peer4, BinaryPrimitives.ReadUInt32BigEndian(arp.Frame.AsSpan(38)));
        Assert.Equal(NudState.Incomplete, StateOf(false, Peer4));
        Assert.Equal(3UL, _r.QueuedPackets);
        Assert.Equal(2UL, _r.UnresolvedDiscards);
        Assert.Equal(2UL, _r.Counters.Drops[(int)DropReason.FibLookupFailed]);
        Assert.Equal(120UL, _r.Counters.DropBytes[(int)DropReason.FibLookupFailed]);
        Assert.False(_r.Table.TryGetMac(0, false, Peer4, out _));
    }

    [Fact]
    public void Reply_MakesReachable_AndSendsTheQueuedPacketsWithItsMac()
    {
        Miss(Peer4); Miss(Peer4);
        Drain();
        _sent.Clear();

        Post(FrameKind.Confirmed, false, Peer4, PeerMac);
        Drain();

        Assert.Equal(NudState.Reachable, StateOf(false, Peer4));
        Assert.Equal(2, _sent.Count);
        Assert.All(_sent, s => Assert.Equal(PeerMac, Mac(s.Frame, 0)));
        Assert.Equal(2UL, _r.ReleasedPackets);
        Assert.True(_r.Table.TryGetMac(0, false, Peer4, out ulong mac));
        Assert.Equal(PeerMac, mac);
    }

    [Fact]
    public void NoAnswer_FailsAfterThreeSolicitations_DroppingTheQueueCounted()
    {
        Miss(Peer4); Miss(Peer4);
        Drain();
        for (int i = 0; i < 3; i++) { _now += 1000; _r.Tick(); }

        Assert.Equal(3, _sent.Count);                       // mcast_solicit = 3, one per retrans_time
        Assert.Equal(NudState.Failed, StateOf(false, Peer4));
        Assert.Equal(1UL, _r.ResolutionFailures);
        Assert.Equal(2UL, _r.Counters.Drops[(int)DropReason.FibLookupFailed]);

        // The next packet starts over (the kernel's FAILED → INCOMPLETE on use).
        _sent.Clear();
        Miss(Peer4);
        Drain();
        Assert.Single(_sent);
        Assert.Equal(NudState.Incomplete, StateOf(false, Peer4));
    }

    [Fact]
    public void Ageing_ReachableGoesStale_UseStartsDelayThenUnicastProbes_ThenFails()
    {
        Miss(Peer4);
        Drain();
        Post(FrameKind.Confirmed, false, Peer4, PeerMac);
        Drain();
        _sent.Clear();

        _now += 29_999; _r.Tick();
        Assert.Equal(NudState.Reachable, StateOf(false, Peer4));
        _now += 1; _r.Tick();
        Assert.Equal(NudState.Stale, StateOf(false, Peer4));

        // Still used with its MAC while stale; the use moves it to Delay.
        Assert.True(_r.Table.TryGetMac(0, false, Peer4, out ulong mac));
        Assert.Equal(PeerMac, mac);
        _now += 1; _r.Tick();
        Assert.Equal(NudState.Delay, StateOf(false, Peer4));
        Assert.Empty(_sent);

        _now += 5000; _r.Tick();
        Assert.Equal(NudState.Probe, StateOf(false, Peer4));
        var probe = Assert.Single(_sent);
        Assert.Equal(PeerMac, Mac(probe.Frame, 0));        // unicast to the MAC we know
        Assert.True(_r.Table.TryGetMac(0, false, Peer4, out _));

        _now += 1000; _r.Tick();
        _now += 1000; _r.Tick();
        Assert.Equal(3, _sent.Count);                       // ucast_solicit = 3
        _now += 1000; _r.Tick();
        Assert.Equal(NudState.Failed, StateOf(false, Peer4));
        Assert.False(_r.Table.TryGetMac(0, false, Peer4, out _));
    }

    [Fact]
    public void ProbeAnswered_BackToReachable()
    {
        Post(FrameKind.Seen, false, Peer4, PeerMac);
        Drain();
        Assert.Equal(NudState.Stale, StateOf(false, Peer4));
        Assert.True(_r.Table.TryGetMac(0, false, Peer4, out _));
        _now += 1; _r.Tick();
        _now += 5000; _r.Tick();
        Assert.Equal(NudState.Probe, StateOf(false, Peer4));

        Post(FrameKind.Confirmed, false, Peer4, 0);         // an NA without target link-layer option: same MAC
        Drain();
        Assert.Equal(NudState.Reachable, StateOf(false, Peer4));
        Assert.True(_r.Table.TryGetMac(0, false, Peer4, out ulong mac));
        Assert.Equal(PeerMac, mac);
    }

    [Fact]
    public void UnusedStaleEntry_IsCollected()
    {
        Post(FrameKind.Seen, false, Peer4, PeerMac);
        Drain();
        _now += 60_000; _r.Tick();
        Assert.Empty(_r.List());
        Assert.False(_r.Table.TryGetMac(0, false, Peer4, out _));
    }

    [Fact]
    public void UnsolicitedReply_CreatesNothing()
    {
        Post(FrameKind.Confirmed, false, Peer4, PeerMac);
        Drain();
        Assert.Empty(_r.List());
    }

    [Fact]
    public void StaticEntry_IsPermanent_NeverAgesNorLearnsOver()
    {
        _r.Configure(Snapshot(withStatic: true));
        uint ip = Ip4("198.18.0.9");
        Post(FrameKind.Seen, false, ip, PeerMac);
        Post(FrameKind.Confirmed, false, ip, PeerMac);
        Drain();
        _now += 10 * 60_000; _r.Tick();
        _now += 10 * 60_000; _r.Tick();
        var e = Assert.Single(_r.List());
        Assert.Equal(NudState.Permanent, e.State);
        Assert.Equal(0x02_00_00_00_00_09UL, e.Mac);
    }

    [Fact]
    public void Ipv6_SolicitsTheSolicitedNodeGroup_WithValidChecksum_AndAnAdvertisementResolves()
    {
        Assert.True(_worker.Post(FrameKind.Miss, 0, true, Peer6, 0, new byte[80]));
        Drain();
        var ns = Assert.Single(_sent).Frame;
        Assert.Equal(0x3333_ff00_0007UL, Mac(ns, 0));
        Assert.Equal(255, ns[21]);                                                     // hop limit
        Assert.Equal(Our6, BinaryPrimitives.ReadUInt128BigEndian(ns.AsSpan(22)));
        Assert.Equal(Ip6("ff02::1:ff00:7"), BinaryPrimitives.ReadUInt128BigEndian(ns.AsSpan(38)));
        Assert.Equal(135, ns[54]);
        Assert.Equal(Peer6, BinaryPrimitives.ReadUInt128BigEndian(ns.AsSpan(62)));
        Assert.Equal(OurMac, Mac(ns, 80));                                            // source link-layer option
        Assert.True(InetChecksum.L4V6(ns.AsSpan(14, 40), ns.AsSpan(54), 58) == BinaryPrimitives.ReadUInt16BigEndian(ns.AsSpan(56)));

        _sent.Clear();
        Post(FrameKind.Confirmed, true, Peer6, PeerMac);
        Drain();
        Assert.Equal(PeerMac, Mac(Assert.Single(_sent).Frame, 0));
        Assert.True(_r.Table.TryGetMac(0, true, Peer6, out _));
        Assert.False(_r.Table.TryGetMac(0, false, (uint)Peer6, out _));          // families never mix
    }

    [Fact]
    public void AnnouncesEachAddressOnce_GratuitousArpAndUnsolicitedNa()
    {
        var r = new NeighborResolver(null, () => _now);
        var sent = new List<byte[]>();
        r.Transmit = (_, f) => { sent.Add(f.ToArray()); return true; };
        r.Configure(Snapshot());
        r.Configure(Snapshot());

        Assert.Equal(2, sent.Count);
        var garp = sent.Single(f => f[12] == 0x08);
        Assert.Equal(NeighborFrames.Broadcast, Mac(garp, 0));
        Assert.Equal(Our4, BinaryPrimitives.ReadUInt32BigEndian(garp.AsSpan(28)));
        Assert.Equal(Our4, BinaryPrimitives.ReadUInt32BigEndian(garp.AsSpan(38)));   // sender = target
        var na = sent.Single(f => f[12] == 0x86);
        Assert.Equal(136, na[54]);
        Assert.Equal(0x20, na[58]);                                                   // override, not solicited
        Assert.Equal(Our6, BinaryPrimitives.ReadUInt128BigEndian(na.AsSpan(62)));
    }

    [Fact]
    public void FullTable_RefusesNewNeighbours_Counted()
    {
        var r = new NeighborResolver(new NeighborOptions { Capacity = 8 }, () => _now) { Transmit = (_, _) => true };
        var w = new WorkerNeighbors(r.Table, 64);
        for (uint i = 0; i < 10; i++) Assert.True(w.Post(FrameKind.Miss, 0, false, Peer4 + i, 0, new byte[60]));
        r.Drain(w.ToResolver);
        Assert.Equal(8, r.List().Count);
        Assert.Equal(2UL, r.TableFull);
        Assert.Equal(2UL, r.Counters.Drops[(int)DropReason.FibLookupFailed]);
    }

    /// <summary>
    /// A watched neighbour (a gateway's mesh node) without any traffic: resolved at once, reprobed by unicast every
    /// WatchMillis, failed when three probes go unanswered, solicited again every second while failed, alive again
    /// on the first answer. An unwatched entry in the same state is left alone (no traffic, no probe).
    /// </summary>
    [Fact]
    public void Watch_FollowsAnIdleNeighbourDownAndUpAgain()
    {
        var key = new NeighborKey(0, false, Peer4);
        _r.Watch([key]);
        var first = Assert.Single(_sent);
        Assert.Equal(NeighborFrames.Broadcast, Mac(first.Frame, 0));
        Assert.Null(_r.IsAlive(key));                         // not known yet, not "down"

        Post(FrameKind.Confirmed, false, Peer4, PeerMac);
        Drain();
        Assert.True(_r.IsAlive(key));
        _sent.Clear();

        _now += 4_999; _r.Tick();
        Assert.Empty(_sent);
        _now += 1; _r.Tick();
        var probe = Assert.Single(_sent);
        Assert.Equal(PeerMac, Mac(probe.Frame, 0));          // unicast to the MAC it had
        Assert.True(_r.IsAlive(key));                         // still counts while being probed

        for (int i = 0; i < 3; i++) { _now += 1_000; _r.Tick(); }
        Assert.Equal(NudState.Failed, StateOf(false, Peer4));
        Assert.False(_r.IsAlive(key));
        _sent.Clear();

        _now += 1_000; _r.Tick();
        Assert.Equal(NeighborFrames.Broadcast, Mac(Assert.Single(_sent).Frame, 0));   // looked for again
        Assert.False(_r.IsAlive(key));                        // still down while looked for
        _now += 60_000; _r.Tick();                            // never aged out while watched
        Assert.Contains(_r.List(), e => e.Key == key);

        Post(FrameKind.Confirmed, false, Peer4, PeerMac);
        Drain();
        Assert.True(_r.IsAlive(key));

        // Watching something else: Peer4 ages as usual, with no probe while idle.
        _r.Watch([]);
        _sent.Clear();
        _now += 30_000; _r.Tick();
        _now += 10_000; _r.Tick();
        Assert.Empty(_sent);
        Assert.Equal(NudState.Stale, StateOf(false, Peer4));
    }

    [Fact]
    public void WorkerLookup_DoesNotAllocate()
    {
        Post(FrameKind.Seen, false, Peer4, PeerMac);
        Drain();
        _r.Table.TryGetMac(0, false, Peer4, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) _r.Table.TryGetMac(0, false, Peer4 + (uint)(i & 1), out _);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    private static ulong Mac(byte[] f, int at)
    {
        ulong m = 0;
        for (int i = 0; i < 6; i++) m = m << 8 | f[at + i];
        return m;
    }

    private static uint Ip4(string s) => RoutePrefix.ToUInt32(IPAddress.Parse(s));
    private static UInt128 Ip6(string s) => RoutePrefix.ToUInt128(IPAddress.Parse(s));
}
