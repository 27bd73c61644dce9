using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Overlay;

namespace Dataplane.Core.Encryption;

/// <summary>
/// A remote node as transparent encryption knows it (Cilium's WireGuard mode): its public key (the Node annotation
/// <c>network.cilium.io/wg-pub-key</c> or its Cluster Mesh entry), the InternalIP its UDP 51871 is reached on, and
/// what may come out of its tunnel — its InternalIPs and pod CIDRs (the peer's AllowedIPs).
/// </summary>
public sealed record EncryptionPeer(string Node, string PublicKey, IPAddress Endpoint, ImmutableArray<IPNetwork> AllowedIps);

/// <summary>
/// What the compiled configuration says about encryption between nodes: on or off, the UDP port, strict mode, and
/// the peers. The datapath reads <see cref="Endpoints"/> (encap stage, strict mode); the host's WireGuard device is
/// configured from <see cref="Peers"/>.
/// </summary>
public sealed record EncryptionPlan(bool Enabled, bool Strict, ushort Port, ImmutableArray<EncryptionPeer> Peers)
{
    /// <summary>Cilium's WireGuard port.</summary>
    public const ushort CiliumPort = 51871;

    public static EncryptionPlan Disabled { get; } = new(false, false, CiliumPort, []);

    /// <summary>Seconds between keepalives to every peer whatever the traffic (0: off).</summary>
    public int PersistentKeepalive { get; init; }

    /// <summary>Every peer's tunnel endpoint (its InternalIPs, IPv4 as mapped keys) → index into <see cref="Peers"/>.</summary>
    public AddressIndex Endpoints { get; } = Index(Peers);

    private static AddressIndex Index(ImmutableArray<EncryptionPeer> peers)
    {
        var entries = new List<(UInt128, int)>();
        for (int i = 0; i < peers.Length; i++)
            foreach (var a in peers[i].AllowedIps)
                if (a.PrefixLength == (a.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
                    entries.Add((Key(a.BaseAddress), i));
        return entries.Count == 0 ? AddressIndex.Empty : new AddressIndex(entries.DistinctBy(e => e.Item1).ToList());
    }

    private static UInt128 Key(IPAddress a)
    {
        Span<byte> b = stackalloc byte[16];
        a.TryWriteBytes(b, out int n);
        return n == 4 ? AddressIndex.V4(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b))
            : System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(b);
    }
}
