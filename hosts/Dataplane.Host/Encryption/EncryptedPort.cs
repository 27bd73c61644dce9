using System.Runtime.InteropServices;
using Dataplane.Core.Packets;
using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Transport;

namespace Dataplane.Host.Encryption;

/// <summary>
/// An underlay port with WireGuard on it: what the pipeline transmits to a peer node (the VXLAN or SRv6 packet,
/// identity inside) is encrypted in place and leaves as UDP 51871; what arrives as UDP 51871 to this node is
/// decrypted in place and handed to the pipeline as the tunnel packet it was, before overlay termination.
/// Handshake messages never reach the pipeline; the device's own datagrams go out on the port the peer was last reached through
/// (<see cref="Flush"/>). Per batch: one decrypt or encrypt call over the matching packets, no allocation.
/// </summary>
internal sealed unsafe class EncryptedPort : IPort
{
    private readonly IPort _inner;
    private readonly NodeEncryption _enc;
    private readonly bool _drainsControl;
    private readonly UInt128[] _local;
    private readonly UInt128 _local4, _local6;
    private readonly bool _has4, _has6;
    private readonly WgPacket[] _wg = new WgPacket[Batch.MaxSize];
    private readonly int[] _at = new int[Batch.MaxSize];
    private readonly bool[] _gone = new bool[Batch.MaxSize];
    private readonly ushort[] _tx = new ushort[Batch.MaxSize], _ownTx = new ushort[Batch.MaxSize];
    private readonly int[] _own = new int[Batch.MaxSize];
    /// <summary>Frames of ours for packets whose backend buffer has no room for the outer headers and the tag.</summary>
    private readonly Batch _sealed = new();
    private readonly PacketPool _sealedPool = new(Batch.MaxSize, 4096, 256);
    private readonly Batch _held = new();
    private readonly Batch _control = new(32);
    private readonly PacketPool _pool = new(32);

    public EncryptedPort(IPort inner, NodeEncryption enc, PortInfo info, bool drainsControl)
    {
        _inner = inner;
        _enc = enc;
        _drainsControl = drainsControl;
        _local = [.. info.Addresses.Select(a => a.Ipv6 ? a.Address : Core.Overlay.AddressIndex.V4((uint)a.Address))];
        foreach (var a in info.Addresses)
        {
            if (a.Ipv6 && !_has6) { _local6 = a.Address; _has6 = true; }
            if (!a.Ipv6 && !_has4) { _local4 = Core.Overlay.AddressIndex.V4((uint)a.Address); _has4 = true; }
        }
    }

    public IPort Inner => _inner;
    public ushort Id => _inner.Id;
    public string Name => _inner.Name;
    public PortStats Stats => _inner.Stats;

    public int RxBurst(Batch batch)
    {
        int start = batch.Count;
        int n = _inner.RxBurst(batch);
        if (n == 0 || _local.Length == 0) return n;
        PacketMeta* m = batch.Meta;
        ushort port = _enc.Port;
        int k = 0;
        for (int i = start; i < start + n; i++)
        {
            if (!UnderlayFrame.TryWireGuard(m[i].Data, m[i].Length, port, _local, out int payload, out int len, out var source)) continue;
            // Where the peer's datagrams come from is where ours go (a handshake response needs it before any data).
            _enc.Learn(source.Address, UnderlayFrame.Mac(m[i].Data + 6), UnderlayFrame.Mac(m[i].Data), Id);
            _wg[k] = new WgPacket { Buffer = m[i].Data, Capacity = m[i].Capacity, Offset = payload, Length = len, Endpoint = source };
            _at[k++] = i;
        }
        if (k == 0) return n;
        _enc.Device.DecryptBatch(_wg.AsSpan(0, k));
        int removed = 0;
        for (int j = 0; j < k; j++)
        {
            ref var w = ref _wg[j];
            ref PacketMeta p = ref m[_at[j]];
            if (w.Verdict != WgVerdict.Deliver)
            {
                // Consumed (handshake, keepalive) or dropped and counted by the device: never seen by the pipeline.
                _gone[_at[j] - start] = true;
                removed++;
                continue;
            }
            // The tunnel packet as it was sent: a fresh Ethernet header (the outer one's MACs) right before it.
            byte* f = p.Data;
            ulong dstMac = UnderlayFrame.Mac(f), srcMac = UnderlayFrame.Mac(f + 6);
            byte* inner = f + w.Offset;
            byte* eth = inner - UnderlayFrame.Eth;
            UnderlayFrame.WriteMac(eth, dstMac);
            UnderlayFrame.WriteMac(eth + 6, srcMac);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(eth + 12, 2),
                (inner[0] >> 4) == 6 ? UnderlayFrame.EtherIpv6 : UnderlayFrame.EtherIpv4);
            p.Pull((int)(eth - f));
            p.Length = (ushort)(UnderlayFrame.Eth + w.Length);
            p.Encrypted = true;   // for flows: it came through the tunnel (kept through overlay termination)
        }
        if (removed == 0) return n;
        // Out of the batch; their buffers go back with the rest on Release.
        int write = start;
        for (int i = start; i < start + n; i++)
        {
            if (_gone[i - start]) { _gone[i - start] = false; _held[_held.Count++] = m[i]; continue; }
            if (write != i) m[write] = m[i];
            write++;
        }
        batch.Count = write;
        return write - start;
    }

    public int TxBurst(Batch batch, ReadOnlySpan<ushort> indices)
    {
        if (_enc.Device.PeerCount == 0) return _inner.TxBurst(batch, indices);
        PacketMeta* m = batch.Meta;
        var allowed = _enc.Device.AllowedIps;
        int k = 0, t = 0;
        for (int x = 0; x < indices.Length; x++)
        {
            int i = indices[x];
            ref PacketMeta p = ref m[i];
            if (!UnderlayFrame.TryDestination(p.Data, p.Length, out var outerDst)
                || allowed.LookupDestination(new ReadOnlySpan<byte>(p.Data + UnderlayFrame.Eth, p.Length - UnderlayFrame.Eth)) is null)
            {
                _tx[t++] = (ushort)i;   // not for a peer: as it is
                continue;
            }
            // The MACs this frame was given for its destination (the peer node): what its encrypted form needs too.
            _enc.Learn(outerDst, UnderlayFrame.Mac(p.Data), UnderlayFrame.Mac(p.Data + 6), Id);
            int plain = p.Length - UnderlayFrame.Eth;
            int tail = Dataplane.WireGuard.Messages.MessageLayout.PaddedLength(plain) - plain + Dataplane.WireGuard.Messages.MessageLayout.TagSize;
            if (p.Headroom >= Front && p.Capacity - p.Length >= tail)
            {
                _wg[k] = new WgPacket { Buffer = p.Data - p.Headroom, Capacity = p.Headroom + p.Capacity, Offset = p.Headroom + UnderlayFrame.Eth, Length = plain };
                _at[k] = i;
                _own[k++] = -1;
                continue;
            }
            // No room around it in the backend's buffer (AF_PACKET packs frames in its ring): sealed in a frame of ours.
            ref PacketMeta c = ref _sealed[_sealed.Count];
            if (p.Length + tail > _sealedPool.MaxPacket || !_sealedPool.TryAlloc(ref c)) { _enc.CountHeadroom(); continue; }
            Buffer.MemoryCopy(p.Data, c.Data, c.Capacity, p.Length);
            c.Length = p.Length;
            c.ResetForRx(Id);
            c.OutPort = Id;
            c.Verdict = PacketVerdict.Tx;
            _wg[k] = new WgPacket { Buffer = c.Data - c.Headroom, Capacity = c.Headroom + c.Capacity, Offset = c.Headroom + UnderlayFrame.Eth, Length = plain };
            _at[k] = i;
            _own[k++] = _sealed.Count++;
        }
        if (k == 0) return _inner.TxBurst(batch, new ReadOnlySpan<ushort>(_tx, 0, t));
        _enc.Device.EncryptBatch(_wg.AsSpan(0, k));
        int o = 0;
        for (int j = 0; j < k; j++)
        {
            ref var w = ref _wg[j];
            if (w.Verdict != WgVerdict.Send) continue;   // staged for the handshake, or dropped and counted
            if (_own[j] < 0) { if (Frame(ref m[_at[j]], ref w)) _tx[t++] = (ushort)_at[j]; }
            else if (Frame(ref _sealed[_own[j]], ref w)) _ownTx[o++] = (ushort)_own[j];
        }
        int sent = t == 0 ? 0 : _inner.TxBurst(batch, new ReadOnlySpan<ushort>(_tx, 0, t));
        if (o > 0) sent += _inner.TxBurst(_sealed, new ReadOnlySpan<ushort>(_ownTx, 0, o));
        // Every backend copies a buffer it does not own on transmit: our frames come back at once.
        for (int j = 0; j < _sealed.Count; j++) _sealedPool.Free(in _sealed[j]);
        _sealed.Count = 0;
        return sent;
    }

    /// <summary>Room the outer headers need in front: Ethernet + IPv6 + UDP + WireGuard header, less the Ethernet header given back.</summary>
    private const int Front = UnderlayFrame.Ip6 + UnderlayFrame.Udp + WgPacket.MessageHeadroom;

    /// <summary>Puts the outer headers in front of the sealed message; false (dropped, counted) without an address or MACs for the endpoint.</summary>
    private bool Frame(ref PacketMeta p, ref WgPacket w)
    {
        bool v4 = w.Endpoint.IsIpv4;
        if ((v4 ? !_has4 : !_has6) || !_enc.TryMacs(w.Endpoint.Address, out ulong dstMac, out ulong srcMac)) { _enc.CountNoNeighbor(); return false; }
        byte* f = p.Data;
        byte* start = UnderlayFrame.Write(w.Buffer + w.Offset, w.Length, v4 ? _local4 : _local6, _enc.Port, w.Endpoint, dstMac, srcMac);
        int moved = (int)(f - start);
        p.Data = start;
        p.Headroom -= (ushort)moved;
        p.Capacity += (ushort)moved;
        p.Length = (ushort)(UnderlayFrame.HeaderSize(w.Endpoint) + w.Length);
        return true;
    }

    public void Release(Batch batch, int start, int count)
    {
        _inner.Release(batch, start, count);
        if (_held.Count > 0)
        {
            _inner.Release(_held, 0, _held.Count);
            _held.Count = 0;
        }
    }

    public void Flush()
    {
        if (_drainsControl) SendControl();
        _inner.Flush();
    }

    /// <summary>The device's handshakes and keepalives to peers reached through this port, framed in its own buffers (at most one small batch per poll).</summary>
    private void SendControl()
    {
        var b = _control;
        b.Count = 0;
        while (b.Count < b.Capacity && _enc.TryTakeDatagram(Id, out var d))
        {
            var to = d.To;
            bool v4 = to.IsIpv4;
            if ((v4 ? !_has4 : !_has6) || !_enc.TryMacs(to.Address, out ulong dstMac, out ulong srcMac)) { _enc.CountNoNeighbor(); continue; }
            ref PacketMeta m = ref b[b.Count];
            int hdr = UnderlayFrame.HeaderSize(to);
            if (d.Datagram.Length + hdr > _pool.MaxPacket || !_pool.TryAlloc(ref m)) { _enc.CountHeadroom(); continue; }
            byte* payload = m.Data + hdr;
            d.Datagram.CopyTo(new Span<byte>(payload, d.Datagram.Length));
            UnderlayFrame.Write(payload, d.Datagram.Length, v4 ? _local4 : _local6, _enc.Port, to, dstMac, srcMac);
            m.Length = (ushort)(hdr + d.Datagram.Length);
            m.ResetForRx(Id);
            m.OutPort = Id;
            m.Verdict = PacketVerdict.Tx;
            _tx[b.Count] = (ushort)b.Count;
            b.Count++;
        }
        if (b.Count == 0) return;
        _inner.TxBurst(b, new ReadOnlySpan<ushort>(_tx, 0, b.Count));
        for (int i = 0; i < b.Count; i++) _pool.Free(in b[i]);
        b.Count = 0;
    }

    public void Dispose()
    {
        _inner.Dispose();
        _held.Dispose();
        _control.Dispose();
        _pool.Dispose();
        _sealed.Dispose();
        _sealedPool.Dispose();
    }
}
