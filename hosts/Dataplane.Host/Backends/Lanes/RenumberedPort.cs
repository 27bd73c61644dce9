using Dataplane.Core.Packets;
using Dataplane.Core.Ports;

namespace Dataplane.Host.Backends.Lanes;

/// <summary>
/// An open port seen under a different port number. Port numbers are positions in the snapshot (interfaces,
/// then pods sorted by namespace/name), so a pod added or removed at runtime can shift the numbers of others;
/// their sockets stay open and keep their rings, only the number stamped on received packets changes.
/// Costs one store per received packet, and only for ports whose number moved.
/// </summary>
internal sealed unsafe class RenumberedPort(IPort inner, ushort id) : IPort
{
    public IPort Inner => inner;
    public ushort Id => id;
    public string Name => inner.Name;
    public PortStats Stats => inner.Stats;

    public int RxBurst(Batch batch)
    {
        int start = batch.Count;
        int n = inner.RxBurst(batch);
        PacketMeta* m = batch.Meta;
        for (int i = start; i < start + n; i++) m[i].InPort = id;
        return n;
    }

    public int TxBurst(Batch batch, ReadOnlySpan<ushort> indices) => inner.TxBurst(batch, indices);
    public void Release(Batch batch, int start, int count) => inner.Release(batch, start, count);
    public void Flush() => inner.Flush();

    /// <summary>The socket belongs to the port table, which closes it when its interface leaves the config.</summary>
    public void Dispose() { }
}
