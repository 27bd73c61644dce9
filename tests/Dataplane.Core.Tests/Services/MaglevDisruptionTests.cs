using static Dataplane.Testing.Fixtures.ServiceYaml;

namespace Dataplane.Core.Tests.Services;

/// <summary>
/// Maglev's minimal disruption through the whole path (config → compiled ring → service stage): with N backends,
/// removing one moves its own flows and only a few others, about 1/N of all flows in total (Eisenbud et al.,
/// NSDI'16 §3.4); removing it again and adding it back restores the original placement exactly.
/// </summary>
public sealed class MaglevDisruptionTests
{
    private static string Slice(int n, int skip = -1)
    {
        var eps = string.Join("\n", Enumerable.Range(0, n).Where(i => i != skip)
            .Select(i => $"- {{addresses: [198.18.90.{i + 1}]}}"));
        return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: big-a\n  namespace: prod\n  labels: {kubernetes.io/service-name: big}\n"
            + "addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n" + eps;
    }

    private static string Svc => Service("big", "  clusterIP: 198.18.50.30\n  ports: [{name: http, port: 80}]", "{service.cilium.io/lb-algorithm: maglev}");

    private static string[] Place(string docs, int flows)
    {
        // Backends outside the node: each flow is DNATed and SNATed (two conntrack entries).
        using var c = new ServiceCluster(docs, conntrackFlows: 2 * flows + 16);
        var result = new string[flows];
        for (int i = 0; i < flows; i++)
            result[i] = c.Send($"198.18.{8 + i / 60000}.{(i / 250) % 250 + 1}", "198.18.50.30", 80, (ushort)(10000 + i % 250 * 7)).Out!.Dst;
        return result;
    }

    [Theory]
    [InlineData(10)]
    [InlineData(25)]
    public void RemovingOneOfNBackendsMovesAboutOneNthOfTheFlows(int n)
    {
        const int flows = 20000;
        var before = Place(Docs(Svc, Slice(n)), flows);
        var removed = "198.18.90.4";
        var after = Place(Docs(Svc, Slice(n, skip: 3)), flows);
        int moved = 0, ofRemoved = 0;
        for (int i = 0; i < flows; i++)
        {
            if (before[i] == removed) { ofRemoved++; Assert.NotEqual(removed, after[i]); }
            if (before[i] != after[i]) moved++;
        }
        double share = (double)moved / flows, ideal = 1.0 / n;
        // Every flow of the removed backend moves (≈1/N); Maglev moves few others: in total at most 1.6/N.
        Assert.InRange((double)ofRemoved / flows, ideal * 0.7, ideal * 1.3);
        Assert.InRange(share, ideal * 0.7, ideal * 1.6);

        var back = Place(Docs(Svc, Slice(n)), flows);
        Assert.Equal(before, back);
    }

    [Fact]
    public void MoreBackendsThanMaglevSlotsIsAConfigError()
    {
        var e = Assert.Throws<Control.Config.ConfigException>(() => new ServiceCluster(Docs(Svc, Slice(251)),
            dataplaneSpecExtra: "  loadBalancing: {maglevTableSize: 251}\n"));
        Assert.Contains("251 backends do not fit a Maglev table of 251", e.Message);
    }
}
