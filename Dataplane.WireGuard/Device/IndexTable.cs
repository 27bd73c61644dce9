using System.Collections.Concurrent;
using System.Security.Cryptography;
using Dataplane.WireGuard.Peers;
using Dataplane.WireGuard.Transport;

namespace Dataplane.WireGuard.Device;

/// <summary>
/// Our 32-bit session indices (the receiver field of responses, cookie replies and transport messages) → the peer,
/// and the session once the handshake completed. Indices are random, so they say nothing about how many
/// sessions exist; a lookup on the transport path allocates nothing.
/// </summary>
internal sealed class IndexTable
{
    internal readonly record struct Entry(Peer Peer, Keypair? Keypair);

    private readonly ConcurrentDictionary<uint, Entry> _entries = new();

    public uint NewHandshakeIndex(Peer peer)
    {
        while (true)
        {
            uint index = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4));
            if (index != 0 && _entries.TryAdd(index, new Entry(peer, null))) return index;
        }
    }

    public void SetKeypair(Keypair keypair) => _entries[keypair.LocalIndex] = new Entry(keypair.Peer, keypair);

    public bool TryGet(uint index, out Entry entry) => _entries.TryGetValue(index, out entry);

    public void Remove(uint index) => _entries.TryRemove(index, out _);

    public void RemovePeer(Peer peer)
    {
        foreach (var (index, e) in _entries)
            if (ReferenceEquals(e.Peer, peer)) _entries.TryRemove(index, out _);
    }
}
