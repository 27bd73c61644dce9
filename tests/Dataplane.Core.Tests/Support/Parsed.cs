using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Tests.Support;

/// <summary>Runs the parser over one frame and returns a copy of the metadata.</summary>
public static class Parsed
{
    public static PacketMeta Parse(byte[] frame, ushort vxlanPort = 8472)
    {
        using var pool = new PacketPool(1, 4096, 256);
        var m = new PacketMeta();
        Assert.True(pool.TryLoad(ref m, frame, 0));
        PacketParser.Parse(ref m, vxlanPort);
        return m;
    }
}
