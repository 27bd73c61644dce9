using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux.Netlink;

/// <summary>
/// One netlink request being built: the nlmsghdr, the family header (ifinfomsg, ifaddrmsg, rtmsg), then
/// type-length-value attributes, each padded to 4 bytes; nested attributes get their length when closed.
/// Set-up code, not the datapath: the buffer simply grows.
/// </summary>
internal sealed class NetlinkMessage
{
    private const int Align = 4;
    private byte[] _buf = new byte[256];
    private int _len;

    public NetlinkMessage(ushort type, ushort flags)
    {
        var h = new nlmsghdr { nlmsg_type = type, nlmsg_flags = (ushort)(flags | Rtnl.NLM_F_REQUEST) };
        Append(h);
    }

    /// <summary>The request asked for an ACK, which then ends the exchange (after any reply).</summary>
    public bool WantsAck => (BinaryPrimitives.ReadUInt16LittleEndian(_buf.AsSpan(6)) & Rtnl.NLM_F_ACK) != 0;

    /// <summary>The finished message with its sequence number and total length filled in.</summary>
    public ReadOnlySpan<byte> Finish(uint seq)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(0), (uint)_len);
        BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(8), seq);
        return _buf.AsSpan(0, _len);
    }

    /// <summary>A fixed header (the family's struct), written as the kernel lays it out.</summary>
    public NetlinkMessage Append<T>(T header) where T : unmanaged
    {
        var span = Reserve(Unsafe.SizeOf<T>());
        MemoryMarshal.Write(span, in header);
        return this;
    }

    public NetlinkMessage Attr(ushort type, ReadOnlySpan<byte> value)
    {
        var span = Reserve(4 + value.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        value.CopyTo(span[4..]);
        Pad();
        return this;
    }

    public NetlinkMessage U32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, value);
        return Attr(type, v);
    }

    public NetlinkMessage I32(ushort type, int value) => U32(type, unchecked((uint)value));

    /// <summary>A NUL-terminated string attribute (interface names, link kinds).</summary>
    public NetlinkMessage Str(ushort type, string value)
    {
        int n = Encoding.UTF8.GetByteCount(value);
        Span<byte> v = n < 256 ? stackalloc byte[n + 1] : new byte[n + 1];
        Encoding.UTF8.GetBytes(value, v);
        v[n] = 0;
        return Attr(type, v);
    }

    /// <summary>Opens a nested attribute; <see cref="End"/> with the returned offset closes it.</summary>
    public int Begin(ushort type)
    {
        int start = _len;
        var span = Reserve(4);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        return start;
    }

    public NetlinkMessage End(int start)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(start), (ushort)(_len - start));
        return this;
    }

    private Span<byte> Reserve(int n)
    {
        if (_len + n + Align > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + n + Align));
        var span = _buf.AsSpan(_len, n);
        span.Clear();
        _len += n;
        return span;
    }

    private void Pad()
    {
        int padded = (_len + Align - 1) & ~(Align - 1);
        if (padded != _len) { _buf.AsSpan(_len, padded - _len).Clear(); _len = padded; }
    }
}

/// <summary>Walks the attributes of a received message (or of a nested attribute's value).</summary>
internal ref struct NetlinkAttributes(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    public bool Next(out ushort type, out ReadOnlySpan<byte> value)
    {
        type = 0;
        value = default;
        if (_rest.Length < 4) return false;
        int len = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        if (len < 4 || len > _rest.Length) { _rest = default; return false; }
        type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & Rtnl.NLA_TYPE_MASK);
        value = _rest[4..len];
        int next = (len + 3) & ~3;
        _rest = next >= _rest.Length ? default : _rest[next..];
        return true;
    }

    public static string Str(ReadOnlySpan<byte> v)
    {
        int nul = v.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? v : v[..nul]);
    }

    public static uint U32(ReadOnlySpan<byte> v) => v.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(v) : 0;
}
