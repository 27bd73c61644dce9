using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Dataplane.Control.Config;

/// <summary>
/// Kubernetes <c>v1 Pod</c>: identity-relevant metadata, placement (spec.nodeName), service account and
/// addresses (status.podIPs and/or status.podIP). MAC and host interface name are derived here.
/// </summary>
public static class PodParser
{
    /// <summary>Pins the pod's MAC instead of deriving it, e.g. to match an existing veth.</summary>
    public const string MacAnnotation = "dataplane.io/mac";

    internal static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var annotations = MetadataReader.Annotations(doc);

        string nodeName = "";
        var nodeNameAt = doc.Source;
        string serviceAccount = "default";
        var containerPorts = ImmutableArray<ContainerPortSpec>.Empty;
        if (doc.Root.TryGet("spec", out var spec))
        {
            containerPorts = ContainerPorts(spec);
            if (spec.TryGet("nodeName", out var n))
            {
                nodeName = n.String();
                nodeNameAt = n.At;
            }
            serviceAccount = spec.OptString("serviceAccountName") ?? serviceAccount;
        }

        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        var ipAt = ImmutableArray.CreateBuilder<SourceLocation>();
        bool ready = true;
        if (doc.Root.TryGet("status", out var status))
        {
            ReadIps(status, ips, ipAt);
            ready = Ready(status);
        }

        var seed = $"{doc.Namespace}/{doc.Name}";
        var mac = MacAddress.Derive(seed);
        var macAt = doc.Source;
        if (doc.Metadata.TryGet("annotations", out var annNode) && annNode.TryGet(MacAnnotation, out var macNode))
        {
            mac = macNode.Mac();
            macAt = macNode.At;
        }

        var pod = new PodSpec(doc.Namespace, doc.Name, MetadataReader.Labels(doc), annotations, nodeName,
            serviceAccount, ips.ToImmutable(), mac, InterfaceName(doc.Namespace, doc.Name), doc.Source)
        {
            ContainerPorts = containerPorts, Ready = ready, Terminating = doc.Metadata.TryGet("deletionTimestamp", out var del) && !del.IsNull,
        };
        into.Pods.Add(new ParsedPod(pod, nodeNameAt, ipAt.ToImmutable(), macAt));
    }

    /// <summary>
    /// Host-side veth name: "lxc" + the first 12 hex digits of SHA-256("namespace/name"), 15 characters in
    /// all, the most Linux allows (IFNAMSIZ 16 with the NUL). Same shape as Cilium's endpoint devices, so
    /// existing tooling recognises them.
    /// </summary>
    public static string InterfaceName(string ns, string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{ns}/{name}"));
        return "lxc" + Convert.ToHexStringLower(hash)[..12];
    }

    /// <summary>spec.containers[].ports[]: name, containerPort, protocol (TCP by default), as the EndpointSlice
    /// controller and Cilium's named-port resolution read them.</summary>
    private static ImmutableArray<ContainerPortSpec> ContainerPorts(YNode spec)
    {
        if (!spec.TryGet("containers", out var containers)) return [];
        var ports = ImmutableArray.CreateBuilder<ContainerPortSpec>();
        foreach (var c in containers.Items())
        {
            if (!c.TryGet("ports", out var list)) continue;
            foreach (var p in list.Items())
            {
                string name = p.OptString("name") ?? "";
                var portNode = p.Get("containerPort");
                ushort port = (ushort)portNode.Int(1, 65535);
                byte proto = (p.OptString("protocol") ?? "TCP") switch
                {
                    "TCP" => Dataplane.Core.Parsing.IpProtocols.Tcp,
                    "UDP" => Dataplane.Core.Parsing.IpProtocols.Udp,
                    "SCTP" => Dataplane.Core.Parsing.IpProtocols.Sctp,
                    var x => throw p.Get("protocol").Error($"must be TCP, UDP or SCTP, got '{x}'"),
                };
                if (name.Length > 0 && ports.Any(x => x.Name == name && x.Protocol == proto))
                    throw p.Get("name").Error($"duplicate container port name '{name}'");
                ports.Add(new ContainerPortSpec(name, proto, port));
            }
        }
        return ports.ToImmutable();
    }

    /// <summary>A pod serves unless it has ended (phase Succeeded or Failed) or its Ready condition is False.</summary>
    private static bool Ready(YNode status)
    {
        if (status.OptString("phase") is "Succeeded" or "Failed") return false;
        if (!status.TryGet("conditions", out var conditions)) return true;
        foreach (var c in conditions.Items())
            if (c.OptString("type") == "Ready") return c.OptString("status") != "False";
        return true;
    }

    private static void ReadIps(YNode status, ImmutableArray<IPAddress>.Builder ips,
        ImmutableArray<SourceLocation>.Builder at)
    {
        if (status.TryGet("podIPs", out var list))
        {
            foreach (var item in list.Items())
            {
                var ipNode = item.Get("ip");
                var ip = ipNode.Ip();
                if (ips.Contains(ip))
                    throw ipNode.Error($"duplicate pod IP {ip}");
                ips.Add(ip);
                at.Add(ipNode.At);
            }
        }

        // Like podCIDR on Node, podIP is the legacy single-value copy of podIPs[0].
        if (status.TryGet("podIP", out var single))
        {
            var ip = single.Ip();
            if (ips.Count == 0)
            {
                ips.Add(ip);
                at.Add(single.At);
            }
            else if (!ips[0].Equals(ip))
            {
                throw single.Error($"status.podIP {ip} must equal status.podIPs[0].ip ({ips[0]})");
            }
        }
    }
}
