using Dataplane.Core.L7;

namespace Dataplane.Core.Tests.Policy;

/// <summary>rules.dns / toFQDNs name matching as Cilium's matchpattern: exact names, '*' inside one label, lone '*'.</summary>
public class DnsPatternTests
{
    [Theory]
    [InlineData("www.example.com", null, "www.example.com", true)]
    [InlineData("www.example.com", null, "WWW.Example.com.", true)]
    [InlineData("www.example.com", null, "a.www.example.com", false)]
    [InlineData(null, "*.example.com", "api.example.com", true)]
    [InlineData(null, "*.example.com", "a.b.example.com", false)]
    [InlineData(null, "*.example.com", "example.com", false)]
    [InlineData(null, "api-*.example.com", "api-eu.example.com", true)]
    [InlineData(null, "api-*.example.com", "web.example.com", false)]
    [InlineData(null, "*", "anything.at.all", true)]
    public void MatchesAsCilium(string? name, string? pattern, string query, bool expected) =>
        Assert.Equal(expected, new DnsPattern(name, pattern).Matches(query));
}
