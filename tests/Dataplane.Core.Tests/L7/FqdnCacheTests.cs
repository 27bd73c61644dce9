using System.Net;
using Dataplane.Core.L7;

namespace Dataplane.Core.Tests.L7;

/// <summary>The toFQDNs cache: each (name, address) held for max(TTL, min TTL), extended by later answers, bounded per name.</summary>
public class FqdnCacheTests
{
    private static readonly IPAddress A = IPAddress.Parse("198.18.102.1"), B = IPAddress.Parse("198.18.102.2");

    [Fact]
    public void ShortTtlsAreRaisedToTheMinimumThenExpire()
    {
        var cache = new FqdnCache(TimeSpan.FromSeconds(4));
        Assert.True(cache.Learn("WWW.Allowed.test", [A], 1, nowMs: 0));
        Assert.Equal([new FqdnIp("www.allowed.test.", A)], cache.Entries(3_999).ToArray());
        Assert.Empty(cache.Expire(3_999));
        Assert.Empty(cache.Entries(4_000));
        Assert.Equal([new FqdnIp("www.allowed.test.", A)], cache.Expire(4_000));
        Assert.Empty(cache.Expire(4_001));
    }

    [Fact]
    public void ALaterAnswerExtendsHeldPairsAndAddsNewOnes()
    {
        var cache = new FqdnCache(TimeSpan.Zero);
        Assert.True(cache.Learn("a.test", [A], 10, nowMs: 0));
        Assert.False(cache.Learn("a.test", [A], 10, nowMs: 5_000));    // only extended: no recompilation needed
        Assert.True(cache.Learn("a.test", [A, B], 100, nowMs: 6_000));
        Assert.Equal(2, cache.Entries(14_000).Length);
        Assert.Equal([new FqdnIp("a.test.", B)], cache.Entries(106_000 - 1).Where(e => e.Address.Equals(B)));
    }

    [Fact]
    public void AddressesPerNameAreBounded()
    {
        var cache = new FqdnCache(TimeSpan.Zero);
        for (int i = 0; i < FqdnCache.MaxIpsPerName + 10; i++)
            cache.Learn("many.test", [new IPAddress([198, 18, 103, (byte)i])], (uint)(100 + i), nowMs: 0);
        var held = cache.Entries(0);
        Assert.Equal(FqdnCache.MaxIpsPerName, held.Length);
        // The soonest-expiring went first.
        Assert.DoesNotContain(held, e => e.Address.Equals(new IPAddress([198, 18, 103, 0])));
    }
}
