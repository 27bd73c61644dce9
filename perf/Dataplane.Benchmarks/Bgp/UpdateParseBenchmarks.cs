using System.Net;
using BenchmarkDotNet.Attributes;
using Dataplane.Bgp.Wire;

namespace Dataplane.Benchmarks.Bgp;

/// <summary>
/// UPDATE parse rate: a table of random prefixes (IPv4 /16–/24 in NLRI, or IPv6 /32–/64 in MP_REACH),
/// packed by our writer into full 4 KiB UPDATEs sharing one attribute set (as a full-table transfer
/// looks), parsed end to end into prefixes and attributes. Reported per prefix: prefixes/s = 1e9 / ns.
/// </summary>
[MemoryDiagnoser]
public class UpdateParseBenchmarks
{
    private const int Prefixes = 100_000;
    private byte[][] _bodies = null!;

    [Params(false, true)]
    public bool Ipv6;

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(10);
        var prefixes = new HashSet<BgpPrefix>();
        while (prefixes.Count < Prefixes)
        {
            var bytes = new byte[Ipv6 ? 16 : 4];
            rnd.NextBytes(bytes);
            prefixes.Add(new BgpPrefix(new IPAddress(bytes), Ipv6 ? rnd.Next(32, 65) : rnd.Next(16, 25)));
        }
        var attrs = new PathAttributes
        {
            AsPath = [new AsPathSegment(AsPathSegmentType.Sequence, [65001, 3356, 1299, 64512])],
            MultiExitDisc = 10,
            Communities = [PathAttributes.Community(65001, 100), PathAttributes.Community(3356, 2)],
        };
        var nh = Ipv6 ? IPAddress.Parse("2001:db8::1") : IPAddress.Parse("198.18.0.1");
        _bodies = [.. UpdateWriter.Announce(attrs, nh, [.. prefixes], fourOctetAs: true).Select(m => m[MessageFraming.HeaderLength..])];
    }

    [Benchmark(OperationsPerInvoke = Prefixes)]
    public int Parse()
    {
        int n = 0;
        foreach (var body in _bodies)
        {
            UpdateParser.TryParse(body, true, out var u, out _);
            n += u.Announced.Count;
        }
        return n;
    }
}
