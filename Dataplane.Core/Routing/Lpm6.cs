namespace Dataplane.Core.Routing;
public sealed class Lpm6 : IDisposable
{
    public const uint NotFound = uint.MaxValue;
    private readonly List<(UInt128 p, int d, uint nh)> _r = new();
    public Lpm6(int maxTbl8Groups = 65536) { }
    public int Count => _r.Count;
    private static UInt128 Mask(int d) => d == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - d);
    public void Add(UInt128 prefix, int depth, uint nextHop) { _r.RemoveAll(x => x.p == (prefix & Mask(depth)) && x.d == depth); _r.Add((prefix & Mask(depth), depth, nextHop)); }
    public bool TryLookup(UInt128 ip, out uint nextHop) { int best = -1; nextHop = NotFound; foreach (var (p, d, nh) in _r) { if ((ip & Mask(d)) == p && d > best) { best = d; nextHop = nh; } } return best >= 0; }
    public void Dispose() { }
}
