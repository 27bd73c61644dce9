using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Snapshot;

/// <summary>
/// The LPM tables of a snapshot, made from its routes in canonical order. A snapshot's tables are immutable, so the
/// next one either shares them (same routes), copies them and applies the difference (a few routes changed: a
/// gateway's BGP table arriving or churning), or fills new ones (most routes changed). The copy is what makes a
/// million learned routes cheap to update: it moves the slots once, where a refill paints every route again —
/// DPDK's <c>rte_lpm</c> changes its table in place under readers instead; a copy keeps our snapshots immutable.
/// </summary>
internal static class RouteTables
{
    public static (Lpm4, Lpm6) For(ImmutableArray<(IPNetwork Prefix, uint NextHop)> routes, DatapathSnapshot? previous)
    {
        if (previous is null) return Fill(routes);
        if (previous.Routes.AsSpan().SequenceEqual(routes.AsSpan())) return (previous.Routes4, previous.Routes6);
        return Update(routes, previous) ?? Fill(routes);
    }

    /// <summary>
    /// The previous snapshot's tables with the difference applied, or null when that is not worth it (more changes than
    /// routes, or a prefix is listed twice so a merge cannot pair them) or not possible (a copy ran out of
    /// tbl8 groups). A family without changes keeps its table.
    /// </summary>
    private static (Lpm4, Lpm6)? Update(ImmutableArray<(IPNetwork Prefix, uint NextHop)> routes, DatapathSnapshot previous)
    {
        var before = previous.Routes;
        // A refill paints every route; an update paints the changes (both pay about the same to allocate or copy
        // the slots), so it wins until the changes outnumber the routes — a table still arriving included.
        int limit = Math.Max(64, routes.Length);
        var removed = new List<IPNetwork>();
        var added = new List<(IPNetwork Prefix, uint NextHop)>();
        int i = 0, j = 0;
        RouteOrder last = default;
        bool any = false;
        while (i < before.Length || j < routes.Length)
        {
            int c;
            RouteOrder at;
            if (i == before.Length) { at = new RouteOrder(routes[j].Prefix, 0); c = 1; }
            else if (j == routes.Length) { at = new RouteOrder(before[i].Prefix, 0); c = -1; }
            else
            {
                var a = new RouteOrder(before[i].Prefix, 0);
                var b = new RouteOrder(routes[j].Prefix, 0);
                c = a.CompareTo(b);
                at = c <= 0 ? a : b;
            }
            if (c < 0) { removed.Add(before[i].Prefix); i++; }
            else if (c > 0) { added.Add(routes[j]); j++; }
            else
            {
                if (before[i].NextHop != routes[j].NextHop) added.Add(routes[j]);
                i++; j++;
            }
            if (any && at.SamePrefix(last)) return null;   // a prefix twice (a shadowed pod address): refill
            last = at;
            any = true;
            if (removed.Count + added.Count > limit) return null;
        }

        bool v4Changed = removed.Exists(p => !IsV6(p)) || added.Exists(r => !IsV6(r.Prefix));
        bool v6Changed = removed.Exists(IsV6) || added.Exists(r => IsV6(r.Prefix));
        var (groups4, groups6) = GroupsNeeded(routes);
        var lpm4 = v4Changed ? previous.Routes4.Clone(groups4) : previous.Routes4;
        var lpm6 = v6Changed ? previous.Routes6.Clone(groups6) : previous.Routes6;
        foreach (var p in removed)
        {
            if (IsV6(p)) lpm6.Remove(RoutePrefix.ToUInt128(p.BaseAddress), p.PrefixLength);
            else lpm4.Remove(RoutePrefix.ToUInt32(p.BaseAddress), p.PrefixLength);
        }
        foreach (var (p, nh) in added)
        {
            bool fits = IsV6(p)
                ? lpm6.TryAdd(RoutePrefix.ToUInt128(p.BaseAddress), p.PrefixLength, nh)
                : lpm4.TryAdd(RoutePrefix.ToUInt32(p.BaseAddress), p.PrefixLength, nh);
            if (fits) continue;
            if (v4Changed) lpm4.Dispose();
            if (v6Changed) lpm6.Dispose();
            return null;
        }
        return (lpm4, lpm6);
    }

    /// <summary>New tables holding every route.</summary>
    private static (Lpm4, Lpm6) Fill(ImmutableArray<(IPNetwork Prefix, uint NextHop)> routes)
    {
        var (groups4, groups6) = GroupsNeeded(routes);
        var lpm4 = new Lpm4(groups4);
        var lpm6 = new Lpm6(groups6);
        foreach (var (prefix, nh) in routes)
        {
            if (IsV6(prefix)) lpm6.Add(RoutePrefix.ToUInt128(prefix.BaseAddress), prefix.PrefixLength, nh);
            else lpm4.Add(RoutePrefix.ToUInt32(prefix.BaseAddress), prefix.PrefixLength, nh);
        }
        return (lpm4, lpm6);
    }

    /// <summary>
    /// tbl8 groups sized from the routes: each prefix longer than /24 takes at most one group per 8 bits past the
    /// 24th. The pool is address space until a group is written, so a generous bound costs no memory — a million
    /// learned IPv6 /52s need about 66 000 groups, more than the fixed defaults held.
    /// </summary>
    private static (int V4, int V6) GroupsNeeded(ImmutableArray<(IPNetwork Prefix, uint NextHop)> routes)
    {
        long groups4 = 0, groups6 = 0;
        foreach (var (prefix, _) in routes)
        {
            int past24 = Math.Max(0, prefix.PrefixLength - 24);
            if (!IsV6(prefix)) groups4 += past24 > 0 ? 1 : 0;
            else groups6 += (past24 + 7) / 8;
        }
        return ((int)Math.Clamp(groups4, 4096, 1 << 20), (int)Math.Clamp(groups6, 1 << 16, 1 << 22));
    }

    private static bool IsV6(IPNetwork p) => p.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
}
