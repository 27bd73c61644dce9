using System.Collections.Concurrent;
using System.Net;
using BenchmarkDotNet.Attributes;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Transport;

namespace Dataplane.Benchmarks.WireGuard;

/// <summary>
/// WireGuard's transport path in memory, per packet, over batches of 64: <c>Seal</c> (copy the plaintext in,
/// encrypt) and <c>SealOpen</c> (then decrypt on the peer device), so open = SealOpen − Seal; <c>Copy</c> is the
/// copy alone. Two of our devices with a completed handshake; 64 B and 1400 B inner packets.
/// </summary>
[MemoryDiagnoser]
public unsafe class TransportBenchmarks
{
    private const int Batch = 64, Slot = 2048;

    private sealed class Wire : IDatagramSender
    {
        public readonly ConcurrentQueue<byte[]> Sent = new();
        public void Send(ReadOnlySpan<byte> datagram, in WgEndpoint to) => Sent.Enqueue(datagram.ToArray());
    }

    [Params(64, 1400)]
    public int Size { get; set; }

    private WireGuardDevice _a = null!, _b = null!;
    private byte[] _plain = [];
    private byte[] _memory = [];
    private byte* _base;
    private readonly WgPacket[] _packets = new WgPacket[Batch];
    private static readonly WgEndpoint EndA = WgEndpoint.From(new IPEndPoint(IPAddress.Parse("198.18.0.1"), 1));
    private static readonly WgEndpoint EndB = WgEndpoint.From(new IPEndPoint(IPAddress.Parse("198.18.0.2"), 2));

    [GlobalSetup]
    public void Setup()
    {
        var wa = new Wire();
        var wb = new Wire();
        var ka = WgKey.GeneratePrivate();
        var kb = WgKey.GeneratePrivate();
        _a = new WireGuardDevice(ka, wa);
        _b = new WireGuardDevice(kb, wb);
        _a.SetPeers([new PeerConfig(kb.PublicKey(), [IPNetwork.Parse("198.18.10.2/32")], EndB.ToIPEndPoint())]);
        _b.SetPeers([new PeerConfig(ka.PublicKey(), [IPNetwork.Parse("198.18.10.1/32")], EndA.ToIPEndPoint())]);
        _plain = new byte[Size];
        _plain[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_plain.AsSpan(2), (ushort)Size);
        _plain[9] = 17;
        IPAddress.Parse("198.18.10.1").TryWriteBytes(_plain.AsSpan(12), out _);
        IPAddress.Parse("198.18.10.2").TryWriteBytes(_plain.AsSpan(16), out _);
        _memory = GC.AllocateArray<byte>(Batch * Slot, pinned: true);
        fixed (byte* p = _memory) _base = p;
        _a.Connect(_a.Peers[0]);
        // The handshake, pumped by hand until A has a session and B has seen A's first message (bounded: 10 s).
        for (int i = 0; i < 200 && (_a.Peers[0].LastHandshake is null || _b.Peers[0].LastHandshake is null || !wa.Sent.IsEmpty || !wb.Sent.IsEmpty); i++)
        {
            while (wa.Sent.TryDequeue(out var m)) Deliver(_b, m, EndA);
            while (wb.Sent.TryDequeue(out var m)) Deliver(_a, m, EndB);
            Thread.Sleep(50);
        }
        if (_a.Peers[0].LastHandshake is null) throw new InvalidOperationException("no handshake between the benchmark devices");
        SealOpen();   // confirms B's session
    }

    private static void Deliver(WireGuardDevice to, byte[] datagram, WgEndpoint from)
    {
        fixed (byte* b = datagram)
        {
            Span<WgPacket> one = [new WgPacket { Buffer = b, Capacity = datagram.Length, Offset = 0, Length = datagram.Length, Endpoint = from }];
            to.DecryptBatch(one);
        }
    }

    private void Fill()
    {
        for (int i = 0; i < Batch; i++)
        {
            byte* slot = _base + i * Slot;
            _plain.AsSpan().CopyTo(new Span<byte>(slot + WgPacket.MessageHeadroom, Size));
            _packets[i] = new WgPacket { Buffer = slot, Capacity = Slot, Offset = WgPacket.MessageHeadroom, Length = Size };
        }
    }

    [Benchmark(OperationsPerInvoke = Batch, Baseline = true)]
    public void Copy() => Fill();

    [Benchmark(OperationsPerInvoke = Batch)]
    public void Seal()
    {
        Fill();
        _a.EncryptBatch(_packets);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void SealOpen()
    {
        Fill();
        _a.EncryptBatch(_packets);
        for (int i = 0; i < Batch; i++) _packets[i].Endpoint = EndA;
        _b.DecryptBatch(_packets);
        if (_packets[Batch - 1].Verdict != WgVerdict.Deliver) throw new InvalidOperationException($"not delivered: {_packets[Batch - 1].DropReason}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
