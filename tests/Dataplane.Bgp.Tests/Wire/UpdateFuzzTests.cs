using System.Net;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Wire;

/// <summary>
/// Seeded mutation fuzzing of the UPDATE parser: valid UPDATEs of both families with random attributes are
/// mutated (bit flips, byte overwrites, truncation, insertion, length-field rewrites) and parsed. The
/// parser must never throw, and every rejection must be an UPDATE Message Error with a defined subcode.
/// </summary>
public class UpdateFuzzTests
{
    private static readonly HashSet<byte> Subcodes = [.. Enum.GetValues<UpdateError>().Select(e => (byte)e)];

    [Fact]
    public void HundredThousandMutatedUpdatesNeverThrowAndMapToNotifications()
    {
        var rnd = new Random(20261126);
        var seeds = Enumerable.Range(0, 64).Select(_ => RandomUpdateBody(rnd)).ToArray();
        int accepted = 0, rejected = 0;
        var bySubcode = new int[16];
        for (int i = 0; i < 100_000; i++)
        {
            var body = Mutate(seeds[rnd.Next(seeds.Length)], rnd);
            bool as4 = rnd.Next(4) != 0;
            bool ok;
            BgpError e;
            try
            {
                ok = UpdateParser.TryParse(body, as4, out _, out e);
            }
            catch (Exception ex)
            {
                Assert.Fail($"iteration {i}: {ex.GetType().Name} for {Convert.ToHexString(body)}");
                return;
            }
            if (ok) { accepted++; continue; }
            rejected++;
            Assert.Equal(ErrorCode.UpdateMessage, e.Code);
            Assert.Contains(e.Subcode, Subcodes);
            bySubcode[e.Subcode]++;
        }
        Assert.Equal(100_000, accepted + rejected);
        // The mutations must actually exercise both outcomes and most error paths.
        Assert.True(accepted > 1000 && rejected > 10_000, $"accepted {accepted}, rejected {rejected}");
        Assert.True(bySubcode.Count(n => n > 0) >= 8, string.Join(",", bySubcode));
    }

    internal static byte[] RandomUpdateBody(Random rnd)
    {
        var attrs = new PathAttributes
        {
            Origin = (Origin)rnd.Next(3),
            AsPath = [new AsPathSegment(AsPathSegmentType.Sequence, [.. Enumerable.Range(0, rnd.Next(1, 6)).Select(_ => (uint)rnd.Next(1, int.MaxValue))])],
            MultiExitDisc = rnd.Next(2) == 0 ? (uint)rnd.Next() : null,
            LocalPref = rnd.Next(2) == 0 ? (uint)rnd.Next(1000) : null,
            AtomicAggregate = rnd.Next(4) == 0,
            Communities = [.. Enumerable.Range(0, rnd.Next(0, 4)).Select(_ => (uint)rnd.Next())],
        };
        bool v6 = rnd.Next(2) == 0;
        var prefixes = Enumerable.Range(0, rnd.Next(1, 20)).Select(_ => RandomPrefix(rnd, v6)).ToList();
        byte[] msg = rnd.Next(5) == 0
            ? UpdateWriter.Withdraw(prefixes)[0]
            : UpdateWriter.Announce(attrs, v6 ? IPAddress.Parse("2001:db8::1") : IPAddress.Parse("198.18.0.1"), prefixes, true)[0];
        return msg[MessageFraming.HeaderLength..];
    }

    private static BgpPrefix RandomPrefix(Random rnd, bool v6)
    {
        var bytes = new byte[v6 ? 16 : 4];
        rnd.NextBytes(bytes);
        return new BgpPrefix(new IPAddress(bytes), rnd.Next(0, v6 ? 129 : 33));
    }

    private static byte[] Mutate(byte[] seed, Random rnd)
    {
        var b = new List<byte>(seed);
        int n = rnd.Next(1, 4);
        for (int k = 0; k < n && b.Count > 0; k++)
        {
            int at = rnd.Next(b.Count);
            switch (rnd.Next(6))
            {
                case 0: b[at] ^= (byte)(1 << rnd.Next(8)); break;
                case 1: b[at] = (byte)rnd.Next(256); break;
                case 2: b.RemoveRange(at, b.Count - at); break;
                case 3: b.Insert(at, (byte)rnd.Next(256)); break;
                case 4: b.RemoveAt(at); break;
                // Length fields are where parsers go wrong: nudge one of the two 16-bit ones or an attribute length.
                default:
                    int field = rnd.Next(3) switch { 0 => 1, 1 => 3 + (b.Count > 4 ? (b[0] << 8 | b[1]) : 0), _ => Math.Min(b.Count - 1, 4 + 2) };
                    if (field < b.Count) b[field] = (byte)(b[field] + rnd.Next(-3, 4));
                    break;
            }
        }
        return [.. b];
    }
}
