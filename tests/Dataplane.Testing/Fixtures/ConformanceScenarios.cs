namespace Dataplane.Testing.Fixtures;

/// <summary>
/// Policy conformance scenarios written from Cilium's documented semantics (docs "Layer 3/4 examples",
/// "Deny policies", "Entities", "CIDR", kubernetes NetworkPolicy) and the cases exercised by
/// pkg/policy/distillery_test.go and repository_deny_test.go. Each scenario is policy YAML plus probes
/// "from > to proto port [v6] = allow|133|181"; "from"/"to" are ns/pod or an IP address.
/// </summary>
public static class ConformanceScenarios
{
    public sealed record Scenario(string Name, string Yaml, string[] Probes, string Enforcement = "default", bool SingleStack = false);

    private static string Cnp(string name, string ns, string spec) =>
        $"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\n{spec}\n";

    private static string Ccnp(string name, string spec) =>
        $"apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\n{spec}\n";

    private static string Np(string name, string ns, string spec) =>
        $"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\n{spec}\n";

    private const string Doc = "---\n";

    public static readonly Scenario[] All =
    [
        // ---- no policy: nothing enforced ----
        new("no-policy-allows-everything", "", [
            "prod/web > prod/db tcp 5432 = allow", "203.0.113.9 > prod/web tcp 80 = allow", "prod/web > 8.8.8.8 udp 53 = allow"]),

        // ---- L3 label-based (docs: Layer 3 Examples / Labels based) ----
        new("l3-ingress-from-endpoints", Cnp("db-from-web", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """), ["prod/web > prod/db tcp 5432 = allow", "prod/client > prod/db tcp 5432 = 133", "prod/web > prod/db udp 9 = allow"]),
        new("ingress-rule-leaves-egress-unenforced", Cnp("db-from-web", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """), ["prod/db > 8.8.8.8 tcp 443 = allow", "prod/db > prod/client tcp 80 = allow"]),
        new("policy-selects-only-its-subject", Cnp("db-from-web", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """), ["prod/db > prod/web tcp 80 = allow", "203.0.113.9 > prod/client tcp 80 = allow"]),
        new("empty-ingress-rule-enables-default-deny", Cnp("lockdown", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{}]
            """), ["prod/web > prod/db tcp 5432 = 133", "203.0.113.9 > prod/db tcp 5432 = 133", "prod/db > 8.8.8.8 tcp 443 = allow"]),
        new("empty-egress-rule-enables-default-deny", Cnp("lockdown", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{}]
            """), ["prod/web > prod/db tcp 5432 = 133", "prod/web > 8.8.8.8 tcp 443 = 133", "prod/db > prod/web tcp 80 = allow"]),
        new("empty-endpoint-selector-selects-namespace", Cnp("all-prod", "prod", """
            spec:
              endpointSelector: {}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/web > prod/db tcp 80 = 133", "prod/web > dev/client tcp 80 = allow"]),
        new("selector-with-source-prefix", Cnp("k8s-prefix", "prod", """
            spec:
              endpointSelector: {matchLabels: {"k8s:app": db}}
              ingress: [{fromEndpoints: [{matchLabels: {"k8s:app": web}}]}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = 133"]),
        new("any-source-prefix", Cnp("any-prefix", "prod", """
            spec:
              endpointSelector: {matchLabels: {"any:app": db}}
              ingress: [{fromEndpoints: [{matchLabels: {"any:tier": frontend}}]}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = 133"]),
        new("match-expressions-in", Cnp("in", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchExpressions: [{key: app, operator: In, values: [web, client]}]}]}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = allow", "dev/client > prod/db tcp 1 = 133"]),
        new("match-expressions-notin", Cnp("notin", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchExpressions: [{key: app, operator: NotIn, values: [client]}]}]}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = 133", "203.0.113.9 > prod/db tcp 1 = 133"]),
        new("match-expressions-exists", Cnp("exists", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchExpressions: [{key: role, operator: Exists}]}]}]
            """), ["prod/client > prod/db tcp 1 = allow", "prod/web > prod/db tcp 1 = 133"]),
        new("match-expressions-does-not-exist", Cnp("dne", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchExpressions: [{key: role, operator: DoesNotExist}]}]}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = 133"]),
        new("match-labels-and-expressions-are-anded", Cnp("and", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {tier: frontend}, matchExpressions: [{key: app, operator: In, values: [client]}]}]}]
            """), ["prod/web > prod/db tcp 1 = 133", "prod/client > prod/db tcp 1 = 133"]),
        new("service-account-label", Cnp("sa", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.serviceaccount: web-sa}}]}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = 133"]),
        new("namespace-object-labels", Ccnp("ns-labels", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {"k8s:io.cilium.k8s.namespace.labels.env": development}}]}]
            """), ["dev/client > prod/db tcp 1 = allow", "10.0.2.20 > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = 133"]),

        // ---- namespace scoping ----
        new("peer-selector-is-namespace-scoped", Cnp("from-client", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "dev/client > prod/web tcp 80 = 133"]),
        new("namespace-label-crosses-namespaces", Cnp("from-dev", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client, k8s:io.kubernetes.pod.namespace: dev}}]}]
            """), ["dev/client > prod/web tcp 80 = allow", "prod/client > prod/web tcp 80 = 133"]),
        new("namespace-expression-in", Cnp("from-both", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: In, values: [dev, prod]}, {key: app, operator: In, values: [client]}]}]}]
            """), ["dev/client > prod/web tcp 80 = allow", "prod/client > prod/web tcp 80 = allow", "prod/db > prod/web tcp 80 = 133"]),
        new("empty-peer-selector-is-whole-namespace", Cnp("ns-only", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{}]}]
            """), ["prod/db > prod/web tcp 80 = allow", "10.0.2.10 > prod/web tcp 80 = allow", "dev/client > prod/web tcp 80 = 133", "203.0.113.9 > prod/web tcp 80 = 133"]),
        new("policy-in-other-namespace-selects-nothing-here", Cnp("dev-lockdown", "dev", """
            spec:
              endpointSelector: {}
              ingress: [{}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/web > dev/client tcp 1 = 133"]),
        new("ccnp-empty-peer-selector-is-all-pods", Ccnp("cluster-pods", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{}]}]
            """), ["dev/client > prod/web tcp 80 = allow", "10.0.2.20 > prod/web tcp 80 = allow", "203.0.113.9 > prod/web tcp 80 = 133", "198.18.0.2 > prod/web tcp 80 = 133"]),
        new("ccnp-subject-spans-namespaces", Ccnp("clients", """
            spec:
              endpointSelector: {matchLabels: {app: client}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """), ["prod/web > dev/client tcp 80 = allow", "prod/web > prod/client tcp 80 = allow", "prod/db > dev/client tcp 80 = 133"]),
        new("remote-pod-identity-from-ipcache", Cnp("from-api", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: api}}]}]
            """), ["10.0.2.10 > prod/web tcp 80 = allow", "10.0.2.20 > prod/web tcp 80 = 133", "fd00:2::10 > prod/web tcp 80 v6 = allow"]),
        new("ipv6-pods", Cnp("db-from-web", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """), ["prod/web > prod/db tcp 5432 v6 = allow", "prod/client > prod/db tcp 5432 v6 = 133"]),

        // ---- L4 (docs: Layer 4 Examples) ----
        new("l4-only-allows-any-peer", Cnp("port80", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "203.0.113.9 > prod/web tcp 80 = allow", "10.0.2.10 > prod/web tcp 80 = allow", "prod/client > prod/web tcp 81 = 133", "prod/client > prod/web udp 80 = 133"]),
        new("l3-plus-l4", Cnp("client80", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: client}}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/client > prod/web tcp 443 = 133", "prod/db > prod/web tcp 80 = 133"]),
        new("udp-port", Cnp("dns", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "53", protocol: UDP}]}]}]
            """), ["prod/client > prod/web udp 53 = allow", "prod/client > prod/web tcp 53 = 133"]),
        new("sctp-port", Cnp("sctp", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "9999", protocol: SCTP}]}]}]
            """), ["prod/client > prod/web sctp 9999 = allow", "prod/client > prod/web tcp 9999 = 133"]),
        new("protocol-any-is-tcp-udp-sctp", Cnp("any", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "53", protocol: ANY}]}]}]
            """), ["prod/client > prod/web tcp 53 = allow", "prod/client > prod/web udp 53 = allow", "prod/client > prod/web sctp 53 = allow", "prod/client > prod/web icmp 8 = 133"]),
        new("protocol-omitted-means-any", Cnp("any", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "8080"}]}]}]
            """), ["prod/client > prod/web tcp 8080 = allow", "prod/client > prod/web udp 8080 = allow", "prod/client > prod/web tcp 8081 = 133"]),
        new("port-range-endport", Cnp("range", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "8000", endPort: 8100, protocol: TCP}]}]}]
            """), ["prod/client > prod/web tcp 8000 = allow", "prod/client > prod/web tcp 8050 = allow", "prod/client > prod/web tcp 8100 = allow", "prod/client > prod/web tcp 7999 = 133", "prod/client > prod/web tcp 8101 = 133"]),
        new("port-zero-is-every-port-of-protocol", Cnp("tcp-any", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "0", protocol: TCP}]}]}]
            """), ["prod/client > prod/web tcp 1234 = allow", "prod/client > prod/web tcp 65535 = allow", "prod/client > prod/web udp 1234 = 133"]),
        new("toports-without-port-is-every-port", Cnp("proto-only", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{protocol: UDP}]}]}]
            """), ["prod/client > prod/web udp 7 = allow", "prod/client > prod/web tcp 7 = 133"]),
        new("several-ports-in-one-rule", Cnp("multi", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{toPorts: [{ports: [{port: "80", protocol: TCP}, {port: "443", protocol: TCP}]}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/client > prod/web tcp 443 = allow", "prod/client > prod/web tcp 8443 = 133"]),
        new("l3-only-covers-every-protocol", Cnp("l3", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web icmp 8 = allow", "prod/client > prod/web udp 1 = allow", "prod/client > prod/web sctp 5 = allow"]),
        new("rules-are-additive", Cnp("a", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
            """) + Doc + Cnp("b", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: db}}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/db > prod/web tcp 9 = allow", "prod/client > prod/web tcp 9 = 133"]),
        new("specs-list", """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: two, namespace: prod}
            specs:
            - endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            - endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """, ["prod/client > prod/web tcp 1 = allow", "prod/web > prod/db tcp 1 = allow", "prod/client > prod/db tcp 1 = 133"]),

        // ---- ICMP ----
        new("icmp-type", Cnp("ping", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{icmps: [{fields: [{type: 8, family: IPv4}]}]}]
            """), ["prod/client > prod/web icmp 8 = allow", "prod/client > prod/web icmp 13 = 133", "prod/client > prod/web tcp 8 = 133"]),
        new("icmpv6-type", Cnp("ping6", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{icmps: [{fields: [{type: 128, family: IPv6}]}]}]
            """), ["prod/client > prod/web icmp 128 v6 = allow", "prod/client > prod/web icmp 8 = 133"]),
        new("icmp-named-type", Cnp("ping", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}], icmps: [{fields: [{type: EchoRequest}]}]}]
            """), ["prod/client > prod/web icmp 8 = allow", "prod/db > prod/web icmp 8 = 133"]),
        new("icmp-deny", Cnp("no-ping", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [all]}]
              ingressDeny: [{icmps: [{fields: [{type: 8, family: IPv4}]}]}]
            """), ["prod/client > prod/web icmp 8 = 181", "prod/client > prod/web icmp 0 = allow", "prod/client > prod/web tcp 8 = allow"]),

        // ---- entities ----
        new("from-entities-world", Cnp("world", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [world]}]
            """), ["203.0.113.9 > prod/web tcp 80 = allow", "2001:db8:ffff::9 > prod/web tcp 80 v6 = allow", "prod/client > prod/web tcp 80 = 133", "198.18.0.2 > prod/web tcp 80 = 133"]),
        new("from-entities-cluster", Cnp("cluster", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [cluster]}]
            """), ["prod/client > prod/web tcp 80 = allow", "dev/client > prod/web tcp 80 = allow", "10.0.2.10 > prod/web tcp 80 = allow", "198.18.0.2 > prod/web tcp 80 = allow", "203.0.113.9 > prod/web tcp 80 = 133"]),
        new("from-entities-host", Cnp("host", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [host]}]
            """), ["198.18.0.1 > prod/web tcp 80 = allow", "198.18.0.2 > prod/web tcp 80 = 133"]),
        new("from-entities-remote-node", Cnp("rn", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [remote-node]}]
            """), ["198.18.0.2 > prod/web tcp 80 = allow", "2001:db8:0:1::2 > prod/web tcp 80 v6 = allow", "198.18.0.1 > prod/web tcp 80 = 133"]),
        new("from-entities-all", Cnp("all", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [all]}]
            """), ["203.0.113.9 > prod/web tcp 80 = allow", "prod/client > prod/web tcp 80 = allow", "198.18.0.2 > prod/web udp 1 = allow"]),
        new("to-entities-world", Cnp("out", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world]}]
            """), ["prod/web > 8.8.8.8 tcp 443 = allow", "prod/web > 2001:db8:ffff::1 tcp 443 v6 = allow", "prod/web > prod/db tcp 5432 = 133", "prod/web > 10.0.2.10 tcp 80 = 133"]),
        new("to-entities-cluster", Cnp("in-cluster", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [cluster]}]
            """), ["prod/web > 10.0.2.10 tcp 80 = allow", "prod/web > dev/client tcp 80 = allow", "prod/web > 8.8.8.8 tcp 80 = 133"]),
        new("to-entities-host", Cnp("to-host", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [host]}]
            """), ["prod/web > 198.18.0.1 tcp 10250 = allow", "prod/web > prod/db tcp 1 = 133", "prod/web > 198.18.0.2 tcp 10250 = 133"]),
        new("reserved-label-selector-not-namespace-scoped", Cnp("reserved", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {"reserved:host": ""}}]}]
            """), ["198.18.0.1 > prod/web tcp 80 = allow", "prod/client > prod/web tcp 80 = 133"]),

        // ---- egress ----
        new("egress-to-endpoints", Cnp("web-out", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEndpoints: [{matchLabels: {app: db}}]}]
            """), ["prod/web > prod/db tcp 5432 = allow", "prod/web > prod/client tcp 80 = 133", "prod/client > prod/web tcp 80 = allow"]),
        new("egress-l4-to-world", Cnp("https-out", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world], toPorts: [{ports: [{port: "443", protocol: TCP}]}]}]
            """), ["prod/web > 1.1.1.1 tcp 443 = allow", "prod/web > 1.1.1.1 tcp 80 = 133"]),
        new("egress-to-kube-dns", Cnp("dns", "prod", """
            spec:
              endpointSelector: {}
              egress:
              - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
                toPorts: [{ports: [{port: "53", protocol: UDP}, {port: "53", protocol: TCP}]}]
            """), ["prod/web > kube-system/coredns udp 53 = allow", "prod/web > kube-system/coredns tcp 53 = allow", "prod/web > kube-system/coredns tcp 80 = 133", "dev/client > kube-system/coredns tcp 80 = allow"]),
        new("both-sides-enforced", Cnp("web-out", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEndpoints: [{matchLabels: {app: db}}]}]
            """) + Doc + Cnp("db-in", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/web > prod/db tcp 5432 = 133", "prod/client > prod/db tcp 5432 = allow"]),

        // ---- CIDR ----
        new("to-cidr", Cnp("cidr", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDR: [192.0.2.0/24]}]
            """), ["prod/web > 192.0.2.7 tcp 80 = allow", "prod/web > 198.51.100.1 tcp 80 = 133"]),
        new("to-cidrset-except", Cnp("cidrset", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDRSet: [{cidr: 192.0.2.0/24, except: [192.0.2.128/25]}]}]
            """), ["prod/web > 192.0.2.7 tcp 80 = allow", "prod/web > 192.0.2.200 tcp 80 = 133"]),
        new("from-cidr", Cnp("from-cidr", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromCIDR: [203.0.113.0/24]}]
            """), ["203.0.113.9 > prod/web tcp 80 = allow", "198.51.100.9 > prod/web tcp 80 = 133"]),
        new("from-cidr-host-address", Cnp("one-ip", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromCIDR: [203.0.113.9]}]
            """), ["203.0.113.9 > prod/web tcp 80 = allow", "203.0.113.10 > prod/web tcp 80 = 133"]),
        new("cidr-does-not-select-pods-or-nodes", Cnp("ten", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDR: [10.0.0.0/8, 198.18.0.0/16]}]
            """), ["prod/web > 10.200.0.1 tcp 80 = allow", "prod/web > 10.0.2.10 tcp 80 = 133", "prod/web > prod/db tcp 80 = 133", "prod/web > 198.18.0.2 tcp 80 = 133"]),
        new("cidr-zero-is-world", Cnp("zero", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDR: [0.0.0.0/0]}]
            """), ["prod/web > 8.8.8.8 tcp 80 = allow", "prod/web > 10.0.2.10 tcp 80 = 133", "prod/web > 2001:db8:ffff::1 tcp 80 v6 = 133"]),
        new("cidr-zero-except", Cnp("zero-except", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDRSet: [{cidr: 0.0.0.0/0, except: [169.254.0.0/16]}]}]
            """), ["prod/web > 8.8.8.8 tcp 80 = allow", "prod/web > 169.254.169.254 tcp 80 = 133"]),
        new("ipv6-cidr", Cnp("v6", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDR: ["2001:db8:ffff::/48"]}]
            """), ["prod/web > 2001:db8:ffff::1 tcp 80 v6 = allow", "prod/web > 2001:db8:eeee::1 tcp 80 v6 = 133"]),
        new("cidr-with-ports", Cnp("cidr-l4", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDR: [192.0.2.0/24], toPorts: [{ports: [{port: "443", protocol: TCP}]}]}]
            """), ["prod/web > 192.0.2.7 tcp 443 = allow", "prod/web > 192.0.2.7 tcp 80 = 133"]),
        new("world-entity-selects-cidr-identities", Cnp("w", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world]}]
            """) + Doc + Cnp("other", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              egress: [{toCIDR: [192.0.2.0/24]}]
            """), ["prod/web > 192.0.2.7 tcp 80 = allow", "prod/web > 8.8.8.8 tcp 80 = allow"]),

        // ---- deny precedence (repository_deny_test.go) ----
        new("l3-deny-beats-l3-allow", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [all]}]
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = 181", "prod/db > prod/web tcp 80 = allow", "203.0.113.9 > prod/web tcp 80 = allow"]),
        new("l3-deny-beats-l3l4-allow", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = 181", "prod/client > prod/web tcp 81 = 181"]),
        new("l4-deny-beats-l3-allow", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
              ingressDeny: [{toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]
            """), ["prod/client > prod/web tcp 22 = 181", "prod/client > prod/web tcp 80 = allow", "prod/db > prod/web tcp 22 = 181", "prod/db > prod/web tcp 80 = 133"]),
        new("l3l4-deny-is-port-specific", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [all]}]
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
            """), ["prod/client > prod/web tcp 80 = 181", "prod/client > prod/web tcp 443 = allow", "prod/client > prod/web udp 80 = allow", "prod/db > prod/web tcp 80 = allow"]),
        new("deny-in-other-policy-wins", Cnp("allow", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """) + Doc + Ccnp("deny", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingressDeny: [{fromEndpoints: [{matchLabels: {role: frontend}}]}]
            """), ["prod/client > prod/web tcp 80 = 181", "dev/client > prod/web tcp 80 = 133"]),
        new("deny-only-policy-turns-on-default-deny", Cnp("deny", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = 181", "prod/db > prod/web tcp 80 = 133"]),
        new("egress-deny-world", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [all]}]
              egressDeny: [{toEntities: [world]}]
            """), ["prod/web > 8.8.8.8 tcp 443 = 181", "prod/web > prod/db tcp 5432 = allow", "prod/web > 192.0.2.1 tcp 443 = 181"]),
        new("egress-deny-cidr-except", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [all]}]
              egressDeny: [{toCIDRSet: [{cidr: 192.0.2.0/24, except: [192.0.2.0/28]}]}]
            """), ["prod/web > 192.0.2.100 tcp 80 = 181", "prod/web > 192.0.2.5 tcp 80 = allow"]),
        new("deny-port-range", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEntities: [all]}]
              ingressDeny: [{toPorts: [{ports: [{port: "1000", endPort: 2000, protocol: TCP}]}]}]
            """), ["prod/client > prod/web tcp 1500 = 181", "prod/client > prod/web tcp 2001 = allow", "prod/client > prod/web tcp 999 = allow"]),
        new("deny-on-ingress-side-of-destination", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEntities: [cluster]}]
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """), ["prod/web > prod/db tcp 5432 = 181", "prod/client > prod/db tcp 5432 = allow"]),

        // ---- enableDefaultDeny ----
        new("enable-default-deny-ingress-false", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              enableDefaultDeny: {ingress: false}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/db > prod/web tcp 80 = allow", "203.0.113.9 > prod/web tcp 80 = allow"]),
        new("enable-default-deny-false-still-denies", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              enableDefaultDeny: {ingress: false}
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = 181", "prod/db > prod/web tcp 80 = allow"]),
        new("enable-default-deny-other-policy-enforces", Cnp("a", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              enableDefaultDeny: {egress: false}
              egress: [{toEndpoints: [{matchLabels: {app: db}}]}]
            """) + Doc + Cnp("b", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world]}]
            """), ["prod/web > prod/client tcp 80 = 133", "prod/web > prod/db tcp 80 = allow", "prod/web > 8.8.8.8 tcp 80 = allow"]),

        // ---- fromRequires ----
        new("from-requires-narrows-other-rules", Ccnp("req", """
            specs:
            - endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromRequires: [{matchLabels: {role: frontend}}]}]
            - endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "dev/client > prod/web tcp 80 = 133"]),
        new("from-requires-alone-allows-nothing", Cnp("req", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromRequires: [{matchLabels: {role: frontend}}]}]
            """), ["prod/client > prod/web tcp 80 = 133"]),

        // ---- Kubernetes NetworkPolicy ----
        new("np-pod-selector-and-ports", Np("web", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: client}}}]
                ports: [{port: 80}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/client > prod/web tcp 443 = 133", "dev/client > prod/web tcp 80 = 133", "prod/client > prod/web udp 80 = 133"]),
        new("np-namespace-selector", Np("web", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{namespaceSelector: {matchLabels: {env: development}}}]}]
            """), ["dev/client > prod/web tcp 80 = allow", "10.0.2.20 > prod/web tcp 80 = allow", "prod/client > prod/web tcp 80 = 133"]),
        new("np-namespace-and-pod-selector", Np("web", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{namespaceSelector: {matchLabels: {env: development}}, podSelector: {matchLabels: {app: tester}}}]}]
            """), ["10.0.2.20 > prod/web tcp 80 = allow", "dev/client > prod/web tcp 80 = 133"]),
        new("np-namespace-by-name", Np("web", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]}]
            """), ["kube-system/coredns > prod/web tcp 80 = allow", "dev/client > prod/web tcp 80 = 133"]),
        new("np-ipblock-except", Np("web", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]}]
            """), ["203.0.113.9 > prod/web tcp 80 = allow", "203.0.113.200 > prod/web tcp 80 = 133"]),
        new("np-default-deny-ingress", Np("deny", "prod", """
            spec:
              podSelector: {}
              policyTypes: [Ingress]
            """), ["prod/client > prod/web tcp 80 = 133", "203.0.113.9 > prod/db tcp 80 = 133", "prod/web > 8.8.8.8 tcp 80 = allow", "prod/web > dev/client tcp 80 = allow"]),
        new("np-default-deny-egress", Np("deny", "prod", """
            spec:
              podSelector: {}
              policyTypes: [Egress]
            """), ["prod/web > 8.8.8.8 tcp 80 = 133", "203.0.113.9 > prod/web tcp 80 = allow"]),
        new("np-allow-all-ingress", Np("all", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{}]
            """), ["203.0.113.9 > prod/web tcp 80 = allow", "dev/client > prod/web udp 5 = allow"]),
        new("np-endport", Np("range", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{ports: [{protocol: TCP, port: 32000, endPort: 32768}]}]
            """), ["prod/client > prod/web tcp 32768 = allow", "prod/client > prod/web tcp 32769 = 133", "203.0.113.9 > prod/web tcp 32000 = allow"]),
        new("np-egress-section-implies-egress-type", Np("out", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]
            """), ["prod/web > prod/db tcp 1 = allow", "prod/web > 8.8.8.8 tcp 1 = 133", "prod/client > prod/web tcp 1 = 133"]),
        new("np-and-cnp-combine", Np("np", "prod", """
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
            """) + Doc + Cnp("cnp", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "22"}]}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/client > prod/web tcp 22 = 181", "prod/db > prod/web tcp 80 = 133"]),

        // ---- enforcement modes (DataplaneNode policyEnforcement, Cilium's --enable-policy) ----
        new("enforcement-always-without-policy-denies", "", [
            "prod/web > prod/db tcp 5432 = 133", "prod/web > 8.8.8.8 tcp 443 = 133", "203.0.113.9 > prod/web tcp 80 = 133"], "always"),
        new("enforcement-always-both-directions", Cnp("web-in", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = 133", "prod/web > 8.8.8.8 tcp 80 = 133"], "always"),
        new("enforcement-always-allow-both-sides", Cnp("web-in", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """) + Doc + Cnp("client-out", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: client}}
              egress: [{toEndpoints: [{matchLabels: {app: web}}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "prod/client > prod/db tcp 80 = 133"], "always"),
        new("enforcement-never-ignores-policy", Cnp("p", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{}]
              ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]
            """), ["prod/client > prod/web tcp 80 = allow", "203.0.113.9 > prod/web tcp 80 = allow"], "never"),

        // ---- host policies (CCNP nodeSelector: the host firewall, docs "Host Policies", lib/host_firewall.h);
        // 198.18.0.1 / 2001:db8:0:1::1 are this node's addresses ----
        new("host-policy-ingress-ports", Ccnp("host-ssh", """
            spec:
              nodeSelector: {}
              ingress: [{fromCIDR: [203.0.113.0/24], toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]
            """), ["203.0.113.9 > 198.18.0.1 tcp 22 = allow", "203.0.113.9 > 198.18.0.1 tcp 23 = 133",
                "198.51.100.1 > 198.18.0.1 tcp 22 = 133", "prod/web > 198.18.0.1 tcp 22 = 133",
                "2001:db8:0:1::2 > 2001:db8:0:1::1 tcp 22 v6 = 133", "203.0.113.9 > prod/web tcp 80 = allow",
                "198.18.0.1 > 203.0.113.9 tcp 443 = allow"]),
        new("host-policy-from-entities", Ccnp("host-kubelet", """
            spec:
              nodeSelector: {}
              ingress: [{fromEntities: [remote-node], toPorts: [{ports: [{port: "10250", protocol: TCP}]}]}]
            """), ["198.18.0.2 > 198.18.0.1 tcp 10250 = allow", "2001:db8:0:1::2 > 2001:db8:0:1::1 tcp 10250 v6 = allow",
                "203.0.113.9 > 198.18.0.1 tcp 10250 = 133", "prod/web > 198.18.0.1 tcp 10250 = 133",
                "198.18.0.2 > 198.18.0.1 udp 10250 = 133"]),
        new("host-policy-egress", Ccnp("host-out", """
            spec:
              nodeSelector: {}
              egress: [{toEntities: [remote-node]}]
            """), ["198.18.0.1 > 198.18.0.2 tcp 10250 = allow", "198.18.0.1 > 203.0.113.9 tcp 443 = 133",
                "198.18.0.1 > prod/web tcp 80 = 133", "203.0.113.9 > 198.18.0.1 tcp 22 = allow"]),
        new("host-policy-deny-wins", Ccnp("host-deny", """
            spec:
              nodeSelector: {}
              ingress: [{fromEntities: [world]}]
              ingressDeny: [{fromCIDR: [203.0.113.0/24], toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]
            """), ["203.0.113.9 > 198.18.0.1 tcp 22 = 181", "203.0.113.9 > 198.18.0.1 tcp 80 = allow",
                "198.51.100.1 > 198.18.0.1 tcp 22 = allow", "198.18.0.2 > 198.18.0.1 tcp 22 = 133"]),
        new("host-policy-not-selecting-this-node", Ccnp("other-nodes", """
            spec:
              nodeSelector: {matchLabels: {role: gateway}}
              ingress: [{}]
            """), ["203.0.113.9 > 198.18.0.1 tcp 22 = allow", "prod/web > 198.18.0.1 tcp 22 = allow"]),
        new("host-policy-and-pod-policy-both-apply", Ccnp("host-in", """
            spec:
              nodeSelector: {}
              ingress: [{fromEntities: [cluster], toPorts: [{ports: [{port: "10250", protocol: TCP}]}]}]
              egress: [{toEntities: [cluster]}]
            """) + Doc + Cnp("web", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [host], toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]
              ingress: [{fromEntities: [world]}]
            """), ["prod/web > 198.18.0.1 tcp 22 = 133", "prod/web > 198.18.0.1 tcp 10250 = 133",
                "prod/client > 198.18.0.1 tcp 10250 = allow", "198.18.0.1 > prod/web tcp 80 = 133",
                "198.18.0.1 > prod/client tcp 80 = allow"]),
        new("host-policy-never-judges-the-host-to-itself", Ccnp("host-lockdown", """
            spec:
              nodeSelector: {}
              ingress: [{}]
              egress: [{}]
            """), ["198.18.0.1 > 198.18.0.1 tcp 23 = allow", "203.0.113.9 > 198.18.0.1 tcp 23 = 133",
                "198.18.0.1 > 203.0.113.9 tcp 443 = 133"]),

        // ---- single-stack (IPv4 only): the world is identity 2, not world-ipv4 ----
        new("single-stack-world-entity", Cnp("out", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world]}]
            """), ["prod/web > 8.8.8.8 tcp 443 = allow", "prod/web > prod/client tcp 80 = 133", "prod/web > 10.0.2.10 tcp 80 = 133"], SingleStack: true),
        new("single-stack-cidr-zero", Cnp("zero", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress: [{fromCIDR: [0.0.0.0/0]}]
            """), ["203.0.113.9 > prod/web tcp 80 = allow", "prod/client > prod/web tcp 80 = 133", "198.18.0.2 > prod/web tcp 80 = 133"], SingleStack: true),
    ];
}
