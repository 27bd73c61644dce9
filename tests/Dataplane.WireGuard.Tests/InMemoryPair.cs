using System.Collections.Concurrent;
using System.Net;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Peers;
using Dataplane.WireGuard.Transport;

namespace Dataplane.WireGuard.Tests;

/// <summary>
/// Two of our devices wired back to back in memory: what one's control loop sends lands in the other's inbox,
/// and the test moves it with <see cref="Pump"/>. A: endpoint 198.18.0.1:1, inner 198.18.10.1; B: 198.18.0.2:2, 198.18.10.2.
/// </summary>
internal sealed unsafe class InMemoryPair : IDisposable
{
    public sealed class Wire : IDatagramSender
    {
        public readonly ConcurrentQueue<(byte[] Data, WgEndpoint To)> Sent = new();
        public void Send(ReadOnlySpan<byte> datagram, in WgEndpoint to) => Sent.Enqueue((datagram.ToArray(), to));
    }

    public static readonly WgEndpoint EndA = WgEndpoint.From(new IPEndPoint(IPAddress.Parse("198.18.0.1"), 1));
    public static readonly WgEndpoint EndB = WgEndpoint.From(new IPEndPoint(IPAddress.Parse("198.18.0.2"), 2));

    public readonly Wire WireA = new(), WireB = new();
    public WireGuardDevice A { get; }
    public WireGuardDevice B { get; }

    public InMemoryPair(WireGuardTimers? timers = null)
    {
        var ka = WgKey.GeneratePrivate();
        var kb = WgKey.GeneratePrivate();
        A = new WireGuardDevice(ka, WireA, timers);
        B = new WireGuardDevice(kb, WireB, timers);
        A.SetPeers([new PeerConfig(kb.PublicKey(), [IPNetwork.Parse("198.18.10.2/32")], EndB.ToIPEndPoint())]);
        B.SetPeers([new PeerConfig(ka.PublicKey(), [IPNetwork.Parse("198.18.10.1/32")], EndA.ToIPEndPoint())]);
    }

    /// <summary>Delivers what both sides sent so far to the other side; returns the decrypted inner packets per receiver.</summary>
    public (List<byte[]> AtA, List<byte[]> AtB) Pump(Func<byte[], byte[]>? tamper = null)
    {
        var atA = new List<byte[]>();
        var atB = new List<byte[]>();
        while (WireA.Sent.TryDequeue(out var m)) atB.AddRange(Deliver(B, tamper is null ? m.Data : tamper(m.Data), EndA));
        while (WireB.Sent.TryDequeue(out var m)) atA.AddRange(Deliver(A, tamper is null ? m.Data : tamper(m.Data), EndB));
        return (atA, atB);
    }

    public static List<byte[]> Deliver(WireGuardDevice to, byte[] datagram, WgEndpoint from)
    {
        var buf = new byte[datagram.Length + 64];
        datagram.CopyTo(buf, 0);
        fixed (byte* b = buf)
        {
            Span<WgPacket> batch = [new WgPacket { Buffer = b, Capacity = buf.Length, Offset = 0, Length = datagram.Length, Endpoint = from }];
            to.DecryptBatch(batch);
            return batch[0].Verdict == WgVerdict.Deliver ? [batch[0].Data.ToArray()] : [];
        }
    }

    /// <summary>Encrypts one inner packet on <paramref name="from"/>; returns the datagram when it could be sent now, else null (staged/dropped).</summary>
    public static byte[]? Encrypt(WireGuardDevice from, byte[] inner, out WgVerdict verdict)
    {
        var buf = new byte[inner.Length + 64];
        inner.CopyTo(buf, WgPacket.MessageHeadroom);
        fixed (byte* b = buf)
        {
            Span<WgPacket> batch = [new WgPacket { Buffer = b, Capacity = buf.Length, Offset = WgPacket.MessageHeadroom, Length = inner.Length }];
            from.EncryptBatch(batch);
            verdict = batch[0].Verdict;
            return verdict == WgVerdict.Send ? batch[0].Data.ToArray() : null;
        }
    }

    /// <summary>A minimal IPv4/UDP packet from <paramref name="src"/> to <paramref name="dst"/> with <paramref name="payload"/> bytes.</summary>
    public static byte[] Ipv4(string src, string dst, int payload)
    {
        var p = new byte[28 + payload];
        p[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[8] = 64; p[9] = 17;
        IPAddress.Parse(src).TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse(dst).TryWriteBytes(p.AsSpan(16), out _);
        for (int i = 28; i < p.Length; i++) p[i] = (byte)i;
        return p;
    }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
