using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Dataplane.Core.Packets;
using Dataplane.Linux.AfPacket;

namespace Dataplane.Benchmarks.Rig;

/// <summary>
/// `pktgen IFACE DST_MAC SRC_IP DST_IP SIZE PPS SECONDS`: a paced UDP generator for the forwarding rig. It sends
/// bursts of 64 identical frames through an AF_PACKET socket (sendmmsg, qdisc bypass) to hold PPS on average,
/// and sleeps between bursts — unlike a busy-polling generator, it leaves its core idle, so the CPU a forwarder
/// (or the kernel, which forwards in softirq on the sender's core) spends per packet shows up as busy time at
/// a fixed offered load. Prints "pktgen: sent N frames in S s".
/// </summary>
public static unsafe class PacedGenerator
{
    public static int Run(string[] args)
    {
        if (args.Length < 7)
        {
            Console.Error.WriteLine("usage: pktgen IFACE DST_MAC SRC_IP DST_IP SIZE PPS SECONDS");
            return 2;
        }
        string iface = args[0];
        ulong dstMac = Mac(args[1]), srcMac = Mac(File.ReadAllText($"/sys/class/net/{iface}/address").Trim());
        var src = IPAddress.Parse(args[2]); var dst = IPAddress.Parse(args[3]);
        int size = Math.Clamp(int.Parse(args[4]), 60, 1514);
        long pps = long.Parse(args[5]);
        double seconds = double.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture);

        const int Burst = 64;
        using var pool = new PacketPool(Burst);
        using var batch = new Batch();
        byte[] frame = Frame(dstMac, srcMac, src, dst, size);
        for (int i = 0; i < Burst; i++) pool.TryLoad(ref batch[i], frame, 0);
        batch.Count = Burst;
        ushort[] all = new ushort[Burst];
        for (int i = 0; i < Burst; i++) all[i] = (ushort)i;

        using var port = new AfPacketPort(0, iface);
        var clock = Stopwatch.StartNew();
        long sent = 0, limit = (long)(pps * seconds);
        while (clock.Elapsed.TotalSeconds < seconds && sent < limit)
        {
            long due = (long)(clock.Elapsed.TotalSeconds * pps);
            if (sent + Burst > due) { Thread.Sleep(1); continue; }
            sent += port.TxBurst(batch, all);
        }
        Console.WriteLine($"pktgen: sent {sent} frames in {clock.Elapsed.TotalSeconds:0.00} s ({sent / clock.Elapsed.TotalSeconds / 1e6:0.000} Mpps)");
        return 0;
    }

    private static ulong Mac(string s) => Convert.ToUInt64(s.Replace(":", ""), 16);

    /// <summary>Ethernet + IPv4 + UDP to port 9, valid IPv4 header checksum, UDP checksum 0 (allowed over IPv4).</summary>
    private static byte[] Frame(ulong dstMac, ulong srcMac, IPAddress src, IPAddress dst, int size)
    {
        var f = new byte[size];
        var s = f.AsSpan();
        for (int i = 0; i < 6; i++) { f[i] = (byte)(dstMac >> (40 - 8 * i)); f[6 + i] = (byte)(srcMac >> (40 - 8 * i)); }
        BinaryPrimitives.WriteUInt16BigEndian(s[12..], 0x0800);
        var ip = s[14..];
        ip[0] = 0x45; BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(size - 14));
        ip[8] = 64; ip[9] = 17;
        src.TryWriteBytes(ip[12..16], out _); dst.TryWriteBytes(ip[16..20], out _);
        uint sum = 0;
        for (int i = 0; i < 20; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000); BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 9);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(size - 34));
        return f;
    }
}
