using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Core.L7;

/// <summary>A name a lookup resolved and one address its answer carried.</summary>
public readonly record struct FqdnIp(string Name, IPAddress Address);

/// <summary>
/// The node's DNS cache for toFQDNs (Cilium's DNSCache behind its NameManager): the addresses the DNS proxy saw in
/// the answers to allowed lookups, each (name, address) pair kept until its own expiry — the answer's TTL, but at
/// least <see cref="MinTtl"/> (Cilium's <c>--tofqdns-min-ttl</c>, default 3600 s); a later answer carrying the pair
/// again extends it, one that no longer carries it leaves it to expire. Names are normalised (lower case, trailing
/// dot). Bounded: at most <see cref="MaxIpsPerName"/> addresses per name (Cilium's
/// <c>--tofqdns-endpoint-max-ip-per-hostname</c>, 50: the soonest-expiring go first) and <see cref="MaxNames"/> names
/// (a lookup of a further name is counted, not cached). Thread-safe; the clock is the caller's (milliseconds on a
/// monotonic clock), so expiry is testable.
/// </summary>
public sealed class FqdnCache(TimeSpan minTtl)
{
    public const int MaxIpsPerName = 50, MaxNames = 65536;
    public static readonly TimeSpan DefaultMinTtl = TimeSpan.FromSeconds(3600);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<IPAddress, long>> _names = new(StringComparer.Ordinal);

    public TimeSpan MinTtl { get; } = minTtl;

    /// <summary>Lookups not cached because <see cref="MaxNames"/> names were held.</summary>
    public long Overflowed;

    /// <summary>
    /// Records the answer's addresses for <paramref name="name"/>; true when a pair was not held before (policy that
    /// selects the name must be recompiled to allow it), false when the answer only extended what was held.
    /// </summary>
    public bool Learn(string name, IReadOnlyList<IPAddress> addresses, uint ttlSeconds, long nowMs)
    {
        if (addresses.Count == 0) return false;
        name = DnsPattern.Normalize(name);
        long expires = nowMs + (long)Math.Max(ttlSeconds * 1000.0, MinTtl.TotalMilliseconds);
        bool added = false;
        lock (_lock)
        {
            if (!_names.TryGetValue(name, out var ips))
            {
                if (_names.Count >= MaxNames) { Overflowed++; return false; }
                _names[name] = ips = [];
            }
            foreach (var ip in addresses)
            {
                if (ips.TryGetValue(ip, out long old)) { if (expires > old) ips[ip] = expires; continue; }
                ips[ip] = expires;
                added = true;
            }
            while (ips.Count > MaxIpsPerName)
                ips.Remove(ips.MinBy(kv => kv.Value).Key);
        }
        return added;
    }

    /// <summary>Drops the pairs whose expiry has passed; returns them (empty: nothing changed).</summary>
    public List<FqdnIp> Expire(long nowMs)
    {
        var gone = new List<FqdnIp>();
        lock (_lock)
        {
            foreach (var (name, ips) in _names)
            {
                foreach (var (ip, expires) in ips)
                    if (expires <= nowMs) gone.Add(new FqdnIp(name, ip));
            }
            foreach (var g in gone)
            {
                var ips = _names[g.Name];
                ips.Remove(g.Address);
                if (ips.Count == 0) _names.Remove(g.Name);
            }
        }
        return gone;
    }

    /// <summary>The pairs held and not expired at <paramref name="nowMs"/>, ordered (name, then address) so equal caches give equal models.</summary>
    public ImmutableArray<FqdnIp> Entries(long nowMs)
    {
        var list = new List<FqdnIp>();
        lock (_lock)
        {
            foreach (var (name, ips) in _names)
                foreach (var (ip, expires) in ips)
                    if (expires > nowMs) list.Add(new FqdnIp(name, ip));
        }
        list.Sort((a, b) => a.Name != b.Name ? string.CompareOrdinal(a.Name, b.Name)
            : string.CompareOrdinal(a.Address.ToString(), b.Address.ToString()));
        return [.. list];
    }
}
