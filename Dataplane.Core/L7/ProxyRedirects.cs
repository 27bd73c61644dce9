using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.L7;

/// <summary>What the datapath recorded when it redirected a new connection to the node's L7 proxy.</summary>
public readonly record struct RedirectInfo(UInt128 OrigDst, ushort OrigPort, byte IpVersion, uint SrcIdentity, uint DstIdentity,
    uint SrcEndpoint, uint DstEndpoint, uint EgressRule, uint IngressRule, ushort Route = 0);

/// <summary>
/// The state the datapath and the node's L7 proxy share, as Cilium's proxy shares the socket's original destination
/// and the identity mark with bpf: (1) the <b>redirect table</b> — for each connection the datapath sent to the proxy,
/// keyed by the client's address and port (what the proxy's accepted socket sees as its peer), the original
/// destination, both identities and the policy rules (egress and ingress side) whose L7 parts the proxy applies; (2) the <b>upstream
/// table</b> — for each local port of a connection the proxy opens onward, the identity it is made on behalf of, so
/// the datapath judges that connection with the client's identity, not the proxy's. Writers are the workers (1) and
/// the proxy (2), readers the other side, all lock-free: fixed arrays, a per-slot sequence number (a seqlock) for (1),
/// a single 32-bit store for (2). Bounded: (1) holds 65 536 slots and a colliding newer connection overwrites the
/// older one (whose lookup then fails: the proxy refuses that connection, counted).
/// </summary>
public sealed class ProxyRedirects
{
    public const int Slots = 1 << 16;

    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        public long Seq;
        public UInt128 Client;
        public UInt128 OrigDst;
        public ushort ClientPort, OrigPort, Route;
        public byte IpVersion;
        public uint SrcIdentity, DstIdentity, SrcEndpoint, DstEndpoint, EgressRule, IngressRule;
    }

    private readonly Slot[] _slots = new Slot[Slots];
    private readonly uint[] _upstream = new uint[65536];

    /// <summary>Connections redirected (written by the workers; approximate across workers).</summary>
    public long Redirected;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(UInt128 client, ushort port) =>
        (int)(((ulong)client ^ (ulong)(client >> 64) ^ ((ulong)port << 17) ^ port) * 0x9E3779B97F4A7C15UL >> 48);

    /// <summary>Datapath side: records a redirected connection (no allocation).</summary>
    public void Record(UInt128 client, ushort clientPort, in RedirectInfo info)
    {
        ref Slot s = ref _slots[Index(client, clientPort)];
        long seq = Volatile.Read(ref s.Seq);
        Volatile.Write(ref s.Seq, seq | 1);
        s.Client = client; s.ClientPort = clientPort;
        s.OrigDst = info.OrigDst; s.OrigPort = info.OrigPort; s.IpVersion = info.IpVersion;
        s.SrcIdentity = info.SrcIdentity; s.DstIdentity = info.DstIdentity;
        s.SrcEndpoint = info.SrcEndpoint; s.DstEndpoint = info.DstEndpoint;
        s.EgressRule = info.EgressRule; s.IngressRule = info.IngressRule; s.Route = info.Route;
        Volatile.Write(ref s.Seq, (seq | 1) + 1);
        Interlocked.Increment(ref Redirected);
    }

    /// <summary>Proxy side: the redirect recorded for the client address and port of an accepted connection.</summary>
    public bool TryFind(UInt128 client, ushort clientPort, out RedirectInfo info)
    {
        ref Slot s = ref _slots[Index(client, clientPort)];
        for (int attempt = 0; attempt < 100; attempt++)
        {
            long before = Volatile.Read(ref s.Seq);
            if ((before & 1) != 0) { Thread.SpinWait(8); continue; }
            var copy = s;
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref s.Seq) != before) continue;
            if (before == 0 || copy.Client != client || copy.ClientPort != clientPort) break;
            info = new RedirectInfo(copy.OrigDst, copy.OrigPort, copy.IpVersion, copy.SrcIdentity, copy.DstIdentity,
                copy.SrcEndpoint, copy.DstEndpoint, copy.EgressRule, copy.IngressRule, copy.Route);
            return true;
        }
        info = default;
        return false;
    }

    /// <summary>Proxy side: the onward connection from local port <paramref name="port"/> is made for <paramref name="identity"/> (0 = none).</summary>
    public void SetUpstream(ushort port, uint identity) => Volatile.Write(ref _upstream[port], identity);

    /// <summary>Datapath side: the identity the proxy's onward connection from <paramref name="port"/> carries, 0 when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Upstream(ushort port) => Volatile.Read(ref _upstream[port]);
}
