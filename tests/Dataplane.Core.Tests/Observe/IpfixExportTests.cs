using System.Net;
using Dataplane.Core.Drops;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Host.Ipfix;
using Dataplane.Host.Run;
using Dataplane.Testing.Peers;

namespace Dataplane.Core.Tests.Observe;

/// <summary>
/// IPFIX export without a datapath: the flow cache's active and idle timeouts on a clock the test drives, the IPv4 and
/// IPv6 templates as nfdump's real collector (nfcapd on the loopback) decodes them, and the flags' errors.
/// </summary>
public sealed class IpfixExportTests
{
    private const long T0 = 1_800_000_000_000; // ms since the epoch

    private static FlowEvent Packet(long atMillis, byte version, UInt128 src, UInt128 dst, ushort sport, ushort dport, byte proto, ushort frame,
        PacketVerdict verdict = PacketVerdict.Tx, DropReason reason = 0) => new()
    {
        TimeNanos = atMillis * 1_000_000, IpVersion = version, Src = src, Dst = dst, SrcPort = sport, DstPort = dport, L4Proto = proto,
        Length = frame, Verdict = verdict, DropReason = reason, SrcIdentity = 1001, DstIdentity = 1002,
    };

    [Fact]
    public void TheCacheSplitsALongFlowAtTheActiveTimeoutAndEndsItWhenIdle()
    {
        var cache = new FlowCache(activeTimeoutSeconds: 10, idleTimeoutSeconds: 3, maxFlows: 100);
        var records = new List<FlowRecord>();
        // One packet a second for 15 s: one record at the active timeout (10 s of packets), the rest once idle.
        for (int s = 0; s < 15; s++)
        {
            cache.Add(Packet(T0 + s * 1000, 4, 0xC6120001, 0xC6120002, 40000, 80, 6, 114), T0 + s * 1000, records.Add);
            cache.Expire(T0 + s * 1000 + 500, records.Add);
        }
        Assert.Single(records);
        Assert.Equal(FlowEndReason.ActiveTimeout, records[0].EndReason);
        Assert.Equal(11UL, records[0].Packets);
        Assert.Equal(11UL * 100, records[0].Octets); // IP octets: the 114-byte frame less 14 of Ethernet
        cache.Expire(T0 + 16_000, records.Add);
        Assert.Single(records);
        cache.Expire(T0 + 17_000, records.Add);
        Assert.Equal(2, records.Count);
        Assert.Equal(FlowEndReason.IdleTimeout, records[1].EndReason);
        Assert.Equal(4UL, records[1].Packets);
        Assert.Equal(T0 + 11_000, records[1].StartMillis);
        Assert.Equal(T0 + 14_000, records[1].EndMillis);
        Assert.Equal(0, cache.Count);
        // Allowed and denied packets of one tuple are separate flows, and a flush (shutdown) sends both.
        cache.Add(Packet(T0, 4, 1, 2, 1, 2, 17, 100), T0, records.Add);
        cache.Add(Packet(T0, 4, 1, 2, 1, 2, 17, 100, PacketVerdict.Drop, DropReason.PolicyDenied), T0, records.Add);
        cache.Flush(FlowEndReason.ForcedEnd, records.Add);
        Assert.Equal([FlowKey.Forwarded, FlowKey.DroppedAclDeny], records.Skip(2).Select(r => r.Key.ForwardingStatus).Order());
    }

    [Fact]
    public void AFullCacheExportsItsFlowsRatherThanLoseThem()
    {
        var cache = new FlowCache(60, 15, maxFlows: 4);
        var records = new List<FlowRecord>();
        for (ushort p = 1; p <= 9; p++) cache.Add(Packet(T0, 4, 1, 2, p, 80, 6, 60), T0, records.Add);
        Assert.Equal(8, records.Count);
        Assert.All(records, r => Assert.Equal(FlowEndReason.LackOfResources, r.EndReason));
        Assert.Equal(1, cache.Count);
    }

    [SkippableFact]
    public void NfcapdDecodesTheIpv4AndIpv6RecordsWithTheirCounts()
    {
        Skip.IfNot(File.Exists("/usr/bin/nfcapd") && File.Exists("/usr/bin/nfdump") && File.Exists("/usr/bin/ss"), "nfdump (nfcapd) or ss not installed");
        int port = 20000 + Random.Shared.Next(20000);
        using var nfcapd = new Nfcapd(null, "127.0.0.1", port);
        long now = T0;
        using (var exporter = new IpfixExporter(new IpfixOptions(new IPEndPoint(IPAddress.Loopback, port), ActiveTimeoutSeconds: 5, IdleTimeoutSeconds: 2), () => now))
        {
            UInt128 a6 = UInt128.Parse("42540766411282592856903984951653826561"), b6 = a6 + 1; // 2001:db8::1, 2001:db8::2
            // IPv6 TCP, 8 packets of 134-byte frames over 8 s: the active timeout (5 s) splits it in two records.
            for (int i = 0; i < 8; i++)
            {
                now = T0 + i * 1000;
                exporter.Add(Packet(now, 6, a6, b6, 43000, 443, 6, 134));
                exporter.Tick();
            }
            // IPv4 UDP, 3 denied datagrams of 242-byte frames; and many small flows, so the records fill more than one message.
            for (int i = 0; i < 3; i++) exporter.Add(Packet(now, 4, 0xC6120A01, 0xC6120A02, 5000, 53, 17, 242, PacketVerdict.Drop, DropReason.PolicyDenied));
            for (ushort p = 1; p <= 100; p++) exporter.Add(Packet(now, 4, 0xC6120B01, 0xC6120B02, p, 9000, 17, 60));
            now += 3000;
            exporter.Tick();
            exporter.Flush();
            var status = exporter.Status();
            Assert.Equal(0, status.SendErrors);
            Assert.Equal(103, status.Records);
            Assert.True(status.Messages >= 2, $"{status.Messages} messages");
        }
        Assert.True(nfcapd.Stop(), "nfcapd did not stop");
        var flows = nfcapd.Flows();
        Assert.True(flows.Count == 103, $"{flows.Count} flows:\n{nfcapd.Output}\n" + string.Join('\n', flows.Select(f => f.Raw)));
        var v6 = flows.Where(f => f.Src == "2001:db8::1").ToList();
        Assert.Equal(2, v6.Count);
        Assert.All(v6, f => Assert.Equal(("2001:db8::2", 43000, "443", 6), (f.Dst, f.SrcPort, f.DstPort, f.Proto)));
        Assert.Equal(8, v6.Sum(f => f.Packets));
        Assert.Equal(8 * 120, v6.Sum(f => f.Bytes));
        var denied = Assert.Single(flows, f => f.Src == "198.18.10.1");
        Assert.Equal(("198.18.10.2", 5000, "53", 17, 3L, 3L * 228), (denied.Dst, denied.SrcPort, denied.DstPort, denied.Proto, denied.Packets, denied.Bytes));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 7000).UtcDateTime, denied.Start.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.Equal(100, flows.Count(f => f.Src == "198.18.11.1" && f.Packets == 1 && f.Bytes == 46));
    }

    [Theory]
    [InlineData(new[] { "--ipfix-collector", "198.18.0.10:99999" }, "--ipfix-collector: '198.18.0.10:99999': '99999' is not a port")]
    [InlineData(new[] { "--ipfix-collector", "[2001:db8::1" }, "missing ']'")]
    [InlineData(new[] { "--ipfix-collector", "not a host" }, "neither an IP address nor a host name")]
    [InlineData(new[] { "--ipfix-collector", "198.18.0.10", "--ipfix-idle-timeout", "soon" }, "--ipfix-idle-timeout: 'soon': want seconds")]
    [InlineData(new[] { "--ipfix-collector", "198.18.0.10", "--ipfix-enterprise-number", "0" }, "is not a Private Enterprise Number")]
    [InlineData(new[] { "--ipfix-active-timeout", "60" }, "--ipfix-active-timeout: needs --ipfix-collector")]
    public void MalformedIpfixFlagsAreRefusedWithWhatIsWrong(string[] args, string expected)
    {
        var e = RunFlags.Refusal(args);
        Assert.Equal(RunExit.Config, e.ExitCode);
        Assert.Contains(expected, e.Line("dataplane-node"), StringComparison.Ordinal);
    }

    [Fact]
    public void CollectorAddressesParseAsUsersWriteThem()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Parse("198.18.0.10"), 4739), IpfixOptions.ParseCollector("198.18.0.10"));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("198.18.0.10"), 2055), IpfixOptions.ParseCollector("udp://198.18.0.10:2055"));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::9"), 9995), IpfixOptions.ParseCollector("[2001:db8::9]:9995"));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::9"), 4739), IpfixOptions.ParseCollector("2001:db8::9"));
        Assert.True(IPAddress.IsLoopback(IpfixOptions.ParseCollector("localhost:4739").Address));
    }
}
