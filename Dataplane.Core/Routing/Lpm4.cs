namespace Dataplane.Core.Routing;
public sealed class Lpm4 : IDisposable
{
    public const uint NotFound = uint.MaxValue;
    private readonly List<(uint p, int d, uint nh)> _r = new();
    public Lpm4(int maxTbl8Groups = 4096) { }
    public int Count => _r.Count;
    public void Add(uint prefix, int depth, uint nextHop) { uint mask = depth == 0 ? 0 : uint.MaxValue << (32 - depth); _r.RemoveAll(x => x.p == (prefix & mask) && x.d == depth); _r.Add((prefix & mask, depth, nextHop)); }
    public bool TryLookup(uint ip, out uint nextHop) { int best = -1; nextHop = NotFound; foreach (var (p, d, nh) in _r) { uint mask = d == 0 ? 0 : uint.MaxValue << (32 - d); if ((ip & mask) == p && d > best) { best = d; nextHop = nh; } } return best >= 0; }
    public void Dispose() { }
}
