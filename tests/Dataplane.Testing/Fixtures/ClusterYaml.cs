namespace Dataplane.Testing.Fixtures;

/// <summary>
/// The manifests the in-memory clusters are made of, one builder per kind, in the one-line flow style the fixtures
/// have always used (tests edit them with string replacements, so the text of a document is part of the contract).
/// A fixture states only what differs: names, labels, addresses.
/// </summary>
public static class ClusterYaml
{
    public const string RouterMac = "02:00:00:00:00:99";

    /// <summary>Documents of one file.</summary>
    public static string Docs(params string[] docs) => string.Join("\n---\n", docs);

    /// <summary>node-local DataplaneNode: one uplink eth0, static neighbours and routes.</summary>
    public static string DataplaneNode(string name, string eth0Mac, string[] addresses,
        (string Ip, string Mac)[] neighbors, (string Destination, string Via)[] routes)
    {
        var lines = new List<string>
        {
            "apiVersion: dataplane.io/v1alpha1", "kind: DataplaneNode", $"metadata: {{name: {name}}}", "spec:",
            $"  routerMac: \"{RouterMac}\"", "  interfaces:",
            $"    - {{name: eth0, mac: \"{eth0Mac}\", addresses: [{Quoted(addresses)}]}}",
        };
        if (neighbors.Length > 0) lines.Add("  neighbors:");
        foreach (var (ip, mac) in neighbors) lines.Add($"    - {{ip: {Scalar(ip)}, mac: \"{mac}\"}}");
        if (routes.Length > 0) lines.Add("  routes:");
        foreach (var (dst, via) in routes) lines.Add($"    - {{destination: {Scalar(dst)}, via: {Scalar(via)}}}");
        return string.Join('\n', lines);
    }

    /// <summary>A Kubernetes Node with its pod CIDRs and InternalIPs; <paramref name="labels"/> as flow-map content ("role: worker").</summary>
    public static string Node(string name, string[] podCidrs, string[] internalIps, string? labels = null)
    {
        string meta = labels == null ? name : $"{name}, labels: {{{labels}}}";
        string addresses = string.Join(", ", internalIps.Select(a => $"{{type: InternalIP, address: {Scalar(a)}}}"));
        return $"apiVersion: v1\nkind: Node\nmetadata: {{name: {meta}}}\nspec: {{podCIDRs: [{Quoted(podCidrs)}]}}\n"
             + $"status: {{addresses: [{addresses}]}}";
    }

    public static string Namespace(string name, string labels) =>
        $"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{labels}}}}}";

    /// <summary>A scheduled, running Pod; <paramref name="specExtra"/> is appended inside its spec map (", serviceAccountName: x").</summary>
    public static string Pod(string ns, string name, string labels, string node, string[] ips, string specExtra = "", string metadataExtra = "")
    {
        string podIps = string.Join(", ", ips.Select(ip => $"{{ip: {Scalar(ip)}}}"));
        return $"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{labels}}}{metadataExtra}}}\n"
             + $"spec: {{nodeName: {node}{specExtra}}}\nstatus: {{podIPs: [{podIps}]}}";
    }

    /// <summary>A dataplane.io ExternalWorkload (VM, server, subnet) with labels, addresses and the gateway Node serving it.</summary>
    public static string ExternalWorkload(string ns, string name, string labels, string[] addresses, string? gateway) =>
        $"apiVersion: dataplane.io/v1alpha1\nkind: ExternalWorkload\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{labels}}}}}\n"
        + $"spec: {{addresses: [{Quoted(addresses)}]{(gateway is null ? "" : $", gateway: {gateway}")}}}";

    /// <summary>
    /// The gateway tests' policy: pods labelled app=web accept TCP 8080 from endpoints labelled app=billing (the VM).
    /// </summary>
    public const string WebFromBilling = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-from-billing, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: billing}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
        """;

    // YAML reads a bare IPv6 address or prefix ("::/0") as something else; IPv4 stays bare as users write it.
    private static string Scalar(string s) => s.Contains(':') ? $"\"{s}\"" : s;

    private static string Quoted(string[] items) => string.Join(", ", items.Select(i => $"\"{i}\""));
}
