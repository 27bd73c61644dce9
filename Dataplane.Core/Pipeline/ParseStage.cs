using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>L2 → L4 parse of every received packet.</summary>
public readonly struct ParseStage : IStage
{
    public static StageId Id => StageId.Parse;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        ushort vxlanPort = snapshot.VxlanPort;
        PacketMeta* m = batch.Meta;
        int n = batch.Count;
        for (int i = 0; i < n; i++)
        {
            if (m[i].Verdict != PacketVerdict.Continue) continue;
            PacketParser.Parse(ref m[i], vxlanPort);
        }
        return n;
    }
}
