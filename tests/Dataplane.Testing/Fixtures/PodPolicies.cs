namespace Dataplane.Testing.Fixtures;

/// <summary>
/// The standard policies of the two-pod node (<see cref="Netns.PodTopology"/>: pods client {app: client} and server
/// {app: server} in namespace default), written once for every backend's test: XDP, TC, AF_PACKET, AF_XDP, DPDK
/// and the agent must reach the same verdicts from the same text.
/// </summary>
public static class PodPolicies
{
    private const string ServerFromClientOn8080 = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server-allow-8080, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        """;

    /// <summary>The server admits its client on TCP 8080 only: ICMP and every other port are dropped (133).</summary>
    public const string ServerAllowsTcp8080 = ServerFromClientOn8080 + "\n";

    /// <summary>As <see cref="ServerAllowsTcp8080"/>, and ICMPv4 echo requests from the client too (so ping passes).</summary>
    public const string ServerAllowsTcp8080AndPing = ServerFromClientOn8080 + """

          - fromEndpoints: [{matchLabels: {app: client}}]
            icmps: [{fields: [{type: 8, family: IPv4}]}]

        """;

    /// <summary>The client selected with an empty ingress rule: nothing may open a connection to it; replies to its
    /// own connections still pass through conntrack.</summary>
    public const string ClientAdmitsNothing = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client-no-ingress, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          ingress: [{}]

        """;

    /// <summary>Several policy documents as one YAML stream.</summary>
    public static string Join(params string[] documents) => string.Join("---\n", documents);
}
