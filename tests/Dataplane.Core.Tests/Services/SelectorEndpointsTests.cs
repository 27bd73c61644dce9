using Dataplane.Core.Packets;

namespace Dataplane.Core.Tests.Services;

/// <summary>
/// A Service with a selector and no EndpointSlice, as every upstream manifest is: its endpoints are the ready pods
/// that match, its named targetPort resolved on each pod from its container ports (pods may number it differently).
/// </summary>
public sealed class SelectorEndpointsTests
{
    /// <summary>Two pods of a Deployment naming port "http" 8080 and 8081, one not ready, one of another app.</summary>
    private const string Pods = """
        apiVersion: v1
        kind: Pod
        metadata: {name: shop-1, namespace: prod, labels: {app: shop, pod-template-hash: abc}}
        spec: {nodeName: node-a, containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
        status: {phase: Running, podIPs: [{ip: 10.0.1.50}], conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: shop-2, namespace: prod, labels: {app: shop, pod-template-hash: abc}}
        spec: {nodeName: node-a, containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8081, protocol: TCP}]}]}
        status: {phase: Running, podIPs: [{ip: 10.0.1.51}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: shop-3, namespace: prod, labels: {app: shop}}
        spec: {nodeName: node-a, containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
        status: {phase: Running, podIPs: [{ip: 10.0.1.52}], conditions: [{type: Ready, status: "False"}]}
        """;

    private const string Service = """
        apiVersion: v1
        kind: Service
        metadata: {name: shop, namespace: prod}
        spec:
          selector: {app: shop}
          clusterIP: 198.18.250.20
          ports: [{name: web, port: 80, targetPort: http}]
        """;

    [Fact]
    public void EveryReadyMatchingPodIsABackendAtItsOwnNumberForTheNamedPort()
    {
        using var c = new ServiceCluster(Pods + "\n---\n" + Service);
        var seen = new HashSet<(string, int)>();
        for (ushort sport = 42000; sport < 42064; sport++)
        {
            var (syn, o) = c.Send("prod/client", "198.18.250.20", 80, sport: sport);
            Assert.Equal(PacketVerdict.Tx, syn.Verdict);
            seen.Add((o!.Dst, o.DstPort));
        }
        // shop-3 is not ready; web-1/web-2 (app: web) do not match.
        Assert.Equal([("10.0.1.50", 8080), ("10.0.1.51", 8081)], seen.Order());
    }

    [Fact]
    public void NumericTargetPortsAndAPodLeavingTakeEffectOnReload()
    {
        using var c = new ServiceCluster(Pods + "\n---\n" + Service.Replace("targetPort: http", "targetPort: 9090"));
        var (_, o) = c.Send("prod/client", "198.18.250.20", 80, sport: 43000);
        Assert.Equal(9090, o!.DstPort);

        // shop-1 and shop-2 end (phase Succeeded, deletionTimestamp): no backend is left.
        string ended = Pods.Replace("status: {phase: Running, podIPs: [{ip: 10.0.1.50}]", "status: {phase: Succeeded, podIPs: [{ip: 10.0.1.50}]")
            .Replace("metadata: {name: shop-2, namespace: prod,", "metadata: {name: shop-2, namespace: prod, deletionTimestamp: \"2026-12-07T00:00:00Z\",");
        c.Swap(ended + "\n---\n" + Service);
        var (syn, _) = c.Send("prod/client", "198.18.250.20", 80, sport: 43001);
        Assert.Equal(PacketVerdict.Drop, syn.Verdict);
        Assert.Equal(Dataplane.Core.Drops.DropReason.ServiceBackendNotFound, syn.DropReason);
    }

    [Fact]
    public void APodWithoutTheNamedPortIsLeftOutOfThatPort()
    {
        string pods = Pods.Replace("ports: [{name: http, containerPort: 8081, protocol: TCP}]", "ports: [{name: metrics, containerPort: 9100}]");
        using var c = new ServiceCluster(pods + "\n---\n" + Service);
        for (ushort sport = 44000; sport < 44032; sport++)
            Assert.Equal("10.0.1.50", c.Send("prod/client", "198.18.250.20", 80, sport: sport).Out!.Dst);
    }
}
