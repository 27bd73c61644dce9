using Dataplane.Core.Packets;

namespace Dataplane.Core.Ports;

/// <summary>
/// In-memory port over a <see cref="PacketPool"/>, for tests and benchmarks of the worker loop: frames injected
/// with <see cref="Inject"/> are received; transmitted frames are copied out to <see cref="Sent"/>.
/// </summary>
public sealed unsafe class MemoryPort(ushort id, string name, PacketPool pool) : IPort
{
    private readonly Queue<byte[]> _pending = new();

    public ushort Id { get; } = id;
    public string Name { get; } = name;
    public PortStats Stats { get; } = new();
    public List<byte[]> Sent { get; } = [];

    public void Inject(byte[] frame) => _pending.Enqueue(frame);

    public int RxBurst(Batch batch)
    {
        int got = 0;
        while (batch.Count < batch.Capacity && _pending.TryPeek(out var frame))
        {
            ref PacketMeta m = ref batch[batch.Count];
            if (!pool.TryLoad(ref m, frame, Id)) break;
            _pending.Dequeue();
            batch.Count++; got++;
            Stats.RxPackets++; Stats.RxBytes += (ulong)frame.Length;
        }
        return got;
    }

    public int TxBurst(Batch batch, ReadOnlySpan<ushort> indices)
    {
        foreach (ushort i in indices)
        {
            Sent.Add(batch[i].Bytes.ToArray());
            Stats.TxPackets++; Stats.TxBytes += batch[i].Length;
        }
        return indices.Length;
    }

    public void Release(Batch batch, int start, int count)
    {
        for (int i = start; i < start + count; i++)
            if (batch[i].BufferHandle != PortBuffers.Taken) pool.Free(batch[i]);
    }

    public void Flush() { }

    public void Dispose() { }
}
