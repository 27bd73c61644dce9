using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Dataplane.Core.L7;

/// <summary>
/// What a DNS response tells toFQDNs policy, read as Cilium's DNS proxy reads it (ExtractMsgDetails): the first
/// question's name (lower case, trailing dot), the answer's rcode, the A/AAAA addresses of the answer section and the
/// lowest TTL of the records that lead to them. A CNAME chain is followed — each record must belong to the name the
/// chain has reached (the question's name, then each CNAME's target) — and collapsed: the addresses are the
/// question's, with the lowest TTL along the chain. A record of another name makes the answer unusable for policy
/// (Cilium: "Unexpected name in RRs"); it is still relayed to the client.
/// </summary>
public sealed record DnsAnswer(string Name, int Rcode, IReadOnlyList<IPAddress> Addresses, uint Ttl)
{
    private const ushort TypeA = 1, TypeCname = 5, TypeAaaa = 28, ClassIn = 1;

    /// <summary>Reads a response; false when it is malformed, not a response, or its answer strays from the chain.</summary>
    public static bool TryParse(ReadOnlySpan<byte> m, out DnsAnswer answer)
    {
        answer = null!;
        if (m.Length < 12 || (m[2] & 0x80) == 0) return false;
        int rcode = m[3] & 0xF;
        int questions = BinaryPrimitives.ReadUInt16BigEndian(m[4..]);
        int answers = BinaryPrimitives.ReadUInt16BigEndian(m[6..]);
        if (questions == 0) return false;
        int at = 12;
        string? qname = null;
        for (int q = 0; q < questions; q++)
        {
            if (!TryName(m, ref at, out string name) || at + 4 > m.Length) return false;
            qname ??= name;
            at += 4;
        }
        string chain = qname!;
        var addresses = new List<IPAddress>();
        uint ttl = uint.MaxValue;
        for (int a = 0; a < answers; a++)
        {
            if (!TryName(m, ref at, out string owner) || at + 10 > m.Length) return false;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(m[at..]);
            ushort cls = BinaryPrimitives.ReadUInt16BigEndian(m[(at + 2)..]);
            uint recordTtl = BinaryPrimitives.ReadUInt32BigEndian(m[(at + 4)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(m[(at + 8)..]);
            at += 10;
            if (at + length > m.Length) return false;
            if (owner != chain) return false;
            if (cls == ClassIn)
            {
                switch (type)
                {
                    case TypeA when length == 4:
                        addresses.Add(new IPAddress(m.Slice(at, 4)));
                        ttl = Math.Min(ttl, recordTtl);
                        break;
                    case TypeAaaa when length == 16:
                        addresses.Add(new IPAddress(m.Slice(at, 16)));
                        ttl = Math.Min(ttl, recordTtl);
                        break;
                    case TypeCname:
                        int target = at;
                        if (!TryName(m, ref target, out chain)) return false;
                        ttl = Math.Min(ttl, recordTtl);
                        break;
                }
            }
            at += length;
        }
        answer = new DnsAnswer(qname!, rcode, addresses, addresses.Count == 0 ? 0 : ttl);
        return true;
    }

    /// <summary>
    /// A domain name at <paramref name="at"/> (RFC 1035 4.1.4: labels, or a pointer to an earlier name), lower case
    /// with the trailing dot; <paramref name="at"/> moves past it. Pointers may only go backwards and at most 64 are
    /// followed, so a crafted loop ends.
    /// </summary>
    public static bool TryName(ReadOnlySpan<byte> m, ref int at, out string name)
    {
        var sb = new StringBuilder();
        int i = at, end = -1, jumps = 0;
        name = "";
        while (true)
        {
            if (i >= m.Length) return false;
            int len = m[i];
            if ((len & 0xC0) == 0xC0)
            {
                if (i + 1 >= m.Length || ++jumps > 64) return false;
                int target = ((len & 0x3F) << 8) | m[i + 1];
                if (target >= i) return false;
                if (end < 0) end = i + 2;
                i = target;
                continue;
            }
            if (len > 63) return false;
            i++;
            if (len == 0) break;
            if (i + len > m.Length || sb.Length + len > 255) return false;
            sb.Append(Encoding.ASCII.GetString(m.Slice(i, len)).ToLowerInvariant()).Append('.');
            i += len;
        }
        at = end < 0 ? i : end;
        name = sb.Length == 0 ? "." : sb.ToString();
        return true;
    }
}
