using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Overlay;

/// <summary>Terminating a tunnel: what VXLAN decap and the SRv6 End.DT* behaviours share once the outer headers are known.</summary>
public static class Decapsulation
{
    /// <summary>
    /// Drops everything in front of <paramref name="innerL2"/> and parses the inner frame as if just received
    /// (VXLAN recognition off: no nested tunnels). ARP and neighbour discovery over the tunnel go to the host.
    /// </summary>
    public static bool Reparse(ref PacketMeta p, int innerL2)
    {
        ushort inPort = p.InPort;
        bool encrypted = p.Encrypted;   // how the tunnel packet arrived is true of what it carries
        p.Pull(innerL2);
        p.ResetForRx(inPort);
        p.Encrypted = encrypted;
        PacketParser.Parse(ref p, 0);
        if (p.Verdict != PacketVerdict.Continue) return false;
        p.Flags |= PacketFlags.Decapsulated;
        if (p.IpVersion == 0 || (p.Flags & PacketFlags.Ndp) != 0) { p.Verdict = PacketVerdict.Local; return false; }
        return true;
    }
}
