using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Core.Drops;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Ebpf.Interop;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Flows;

/// <summary>
/// Reads the datapath's flow events from the dp_events ring buffer and turns them into the same
/// <see cref="FlowEvent"/> values the C# pipeline's flow ring carries, so they feed the same observe/Hubble
/// formatting. Single consumer; events are numbered in the order read.
/// </summary>
public sealed unsafe class EbpfFlowReader : IDisposable
{
    private void* _rb;
    private GCHandle _self;
    private readonly Queue<FlowEvent> _pending = new();
    private ulong _sequence;

    public EbpfFlowReader(EbpfDatapath dp)
    {
        _self = GCHandle.Alloc(this);
        _rb = Bpf.ring_buffer__new(dp.Events.Fd, &OnSample, (void*)GCHandle.ToIntPtr(_self), null);
        if (_rb == null)
        {
            _self.Free();
            throw new EbpfMapException($"ring_buffer__new(dp_events) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for events, then returns everything read so far.</summary>
    public List<FlowEvent> Poll(int timeoutMs)
    {
        int rc = Bpf.ring_buffer__poll(_rb, timeoutMs);
        if (rc < 0 && rc != -4) throw new EbpfMapException($"ring_buffer__poll failed: errno {-rc}");
        var list = new List<FlowEvent>(_pending);
        _pending.Clear();
        return list;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for events and moves everything read into <paramref name="sink"/>
    /// (the ring a FlowExporter drains) without allocating; a full ring counts the event in its Lost.
    /// Returns the events read.
    /// </summary>
    public int PollInto(FlowRing sink, int timeoutMs)
    {
        int rc = Bpf.ring_buffer__poll(_rb, timeoutMs);
        if (rc < 0 && rc != -4) throw new EbpfMapException($"ring_buffer__poll failed: errno {-rc}");
        int n = 0;
        while (_pending.TryDequeue(out var e))
        {
            ref FlowEvent slot = ref sink.TryClaim(out bool ok);
            if (ok) { slot = e; sink.Publish(); }
            n++;
        }
        return n;
    }

    [UnmanagedCallersOnly]
    private static int OnSample(void* ctx, void* data, nuint size)
    {
        var reader = (EbpfFlowReader)GCHandle.FromIntPtr((nint)ctx).Target!;
        if (size < (nuint)sizeof(DpFlowEvent)) return 0;
        reader._pending.Enqueue(Convert(Unsafe.ReadUnaligned<DpFlowEvent>(data), reader._sequence++));
        return 0;
    }

    /// <summary>A ring-buffer record as a FlowEvent (addresses into the C# convention: IPv4 host order, low bits).</summary>
    public static FlowEvent Convert(in DpFlowEvent e, ulong sequence)
    {
        var f = new FlowEvent
        {
            Sequence = sequence,
            TimeNanos = (long)e.TimeNs,
            SrcIdentity = e.SrcIdentity, DstIdentity = e.DstIdentity,
            SrcEndpoint = e.SrcEndpoint, DstEndpoint = e.DstEndpoint,
            PolicyRule = e.PolicyRule, IngressPolicyRule = e.IngressRule,
            SrcPort = e.Sport, DstPort = e.Dport, InPort = e.InPort, OutPort = e.OutPort,
            Length = e.Length, EtherType = e.EtherType, IpVersion = e.IpVersion, L4Proto = e.Proto,
            TcpFlags = e.TcpFlags, IcmpType = e.IcmpType, IcmpCode = e.IcmpCode,
            Verdict = (PacketVerdict)e.Verdict, DropReason = (DropReason)e.DropReason,
            Direction = (TrafficDirection)e.Direction, CtState = (CtState)e.CtState, Flags = (PacketFlags)e.Flags,
        };
        fixed (byte* s = e.Src) f.Src = Address(s, e.IpVersion);
        fixed (byte* d = e.Dst) f.Dst = Address(d, e.IpVersion);
        return f;
    }

    private static UInt128 Address(byte* a, byte version) => version switch
    {
        4 => BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(a, 4)),
        6 => BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(a, 16)),
        _ => UInt128.Zero,
    };

    public void Dispose()
    {
        if (_rb != null) { Bpf.ring_buffer__free(_rb); _rb = null; }
        if (_self.IsAllocated) _self.Free();
    }
}
