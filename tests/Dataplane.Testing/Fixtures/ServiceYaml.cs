namespace Dataplane.Testing.Fixtures;

/// <summary>Services and slices over <see cref="ServiceCluster"/>'s pods (web-1, web-2 on node-a; web-3 on node-b).</summary>
public static class ServiceYaml
{
    /// <summary>An EndpointSlice of service <paramref name="service"/> in prod: web-1..3 at port 8080 named http,
    /// with per-endpoint condition overrides (null = ready).</summary>
    public static string WebSlice(string service, string? web1 = null, string? web2 = null, string? web3 = null, string suffix = "a") => $$$"""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: {{{service}}}-{{{suffix}}}
          namespace: prod
          labels:
            kubernetes.io/service-name: {{{service}}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - addresses: [10.0.1.10]
          nodeName: node-a
          conditions: {{{web1 ?? "{ready: true}"}}}
        - addresses: [10.0.1.11]
          nodeName: node-a
          conditions: {{{web2 ?? "{ready: true}"}}}
        - addresses: [10.0.2.10]
          nodeName: node-b
          conditions: {{{web3 ?? "{ready: true}"}}}
        """;

    public static string WebSlice6(string service) => $$$"""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: {{{service}}}-v6
          namespace: prod
          labels:
            kubernetes.io/service-name: {{{service}}}
        addressType: IPv6
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: ["fd00:1::10"], nodeName: node-a}
        - {addresses: ["fd00:2::10"], nodeName: node-b}
        """;

    /// <summary>ClusterIP web: 198.18.50.10 / 2001:db8:50::10, port 80 → targetPort http (named), Maglev.</summary>
    public const string Web = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: prod, annotations: {service.cilium.io/lb-algorithm: maglev}}
        spec:
          clusterIP: 198.18.50.10
          clusterIPs: [198.18.50.10, "2001:db8:50::10"]
          ports: [{name: http, port: 80, targetPort: http, protocol: TCP}]
        """;

    public static string Service(string name, string spec, string annotations = "{}") => $$$"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {{{name}}}
          namespace: prod
          annotations: {{{annotations}}}
        spec:
        {{{spec}}}
        """;

    public static string Docs(params string[] docs) => string.Join("\n---\n", docs);
}
