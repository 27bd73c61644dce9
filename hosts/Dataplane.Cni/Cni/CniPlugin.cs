using System.Net;
using System.Text.Json.Nodes;
using Dataplane.Cni.Ipam;
using Dataplane.Cni.Link;
using Dataplane.Host.Api;
using Dataplane.Node.Api;

namespace Dataplane.Cni.Cni;

/// <summary>
/// ADD / DEL / CHECK / VERSION / STATUS / GC of the dataplane's CNI plugin. One attachment = (CNI_CONTAINERID,
/// CNI_IFNAME): its addresses (built-in IPAM store, or the delegated IPAM plugin's), its record, its veth pair,
/// its registration with the agent. ADD undoes what it did when a later step fails; DEL removes whatever is left
/// and succeeds when nothing is. STATUS and GC: <see cref="CniMaintenance"/>.
/// </summary>
public static class CniPlugin
{
    internal static readonly TimeSpan LockWait = TimeSpan.FromSeconds(30);

    /// <summary>Runs one command; returns what to print on stdout (null: nothing) or throws <see cref="CniException"/>.</summary>
    public static JsonObject? Execute(CniEnv env, string stdin)
    {
        switch (env.Command)
        {
            case "VERSION":
                var v = NetConf.Parse(stdin.Trim().Length == 0 ? "{}" : stdin, versionOnly: true);
                return new JsonObject { ["cniVersion"] = v.CniVersion, ["supportedVersions"] = new JsonArray([.. CniVersions.Supported.Select(s => (JsonNode)s)]) };
            case "ADD":
                env.Require(netns: true);
                return Add(env, NetConf.Parse(stdin), stdin);
            case "DEL":
                env.Require(netns: false);
                Del(env, NetConf.Parse(stdin), stdin);
                return null;
            case "CHECK":
                env.Require(netns: true);
                Check(env, NetConf.Parse(stdin), stdin);
                return null;
            case "STATUS":
                CniMaintenance.Status(env, NetConf.Parse(stdin), stdin);
                return null;
            case "GC":
                CniMaintenance.Gc(env, NetConf.Parse(stdin), stdin);
                return null;
            default:
                throw new CniException(CniCode.InvalidEnvironment, $"CNI_COMMAND '{env.Command}' is not one of ADD, DEL, CHECK, VERSION, STATUS, GC");
        }
    }

    private static JsonObject Add(CniEnv env, NetConf conf, string stdin)
    {
        var (ns, name) = PodName(env, conf);
        RequireNetns(env);
        using var agent = new AgentClient(conf.AgentSocket);
        CniTiming.Mark("start");
        var node = agent.Node();   // before allocating: an agent that is down is "try again later", with nothing to undo
        CniTiming.Mark("agent-node");
        string hostIf = HostIf(env);
        var records = new AttachmentRecords(conf.AttachmentDir);

        // The store's lock is held inside Allocate (and Release) only: the veth and the agent's registration below
        // may take long on a loaded node, and another pod's ADD must not wait for them to get its address.
        var ipam = conf.IpamType is null ? new HostLocalIpam(conf.DataDir, conf.Name, LockWait) : null;
        var delegated = conf.IpamType is { } type ? new DelegatedIpam(type, env, stdin, conf) : null;
        List<Allocation> ips;
        List<PodRoute> routes;
        if (ipam is not null)
        {
            ips = ipam.Allocate(Subnets(conf, node), env.ContainerId, env.IfName);
            routes = PodRoute.Defaults(ips);
        }
        else (ips, routes) = delegated!.Add();
        CniTiming.Mark("ipam");
        try
        {
            records.Save(hostIf, new AttachmentRecords.Attachment(env.ContainerId, env.IfName, ips, routes));
            var link = PodLink.Create(env.Netns, env.IfName, hostIf, conf.Mtu, ips, routes);
            CniTiming.Mark("addresses-routes");
            try
            {
                agent.Register(new EndpointRegistration(env.ContainerId, env.IfName, ns, name, new Dictionary<string, string>(conf.Labels),
                    env.Netns, hostIf, link.PodMac, [.. ips.Select(a => a.Address.ToString())]));
                CniTiming.Mark("agent-register");
            }
            catch
            {
                PodLink.Delete(env.Netns, env.IfName, hostIf);
                throw;
            }
            return CniResult.Build(conf.CniVersion, hostIf, link.HostMac, env.IfName, link.PodMac, env.Netns, ips, routes);
        }
        catch
        {
            records.Remove(hostIf);
            // The addresses go back: a failed ADD leaks no lease. The ADD's own error is the one to report; should
            // the release fail too (lock busy), the runtime's DEL or GC frees what is left.
            try
            {
                if (ipam is not null) ipam.Release(env.ContainerId, env.IfName);
                else delegated!.Del(env.ContainerId, env.IfName);
            }
            catch (CniException) { }
            throw;
        }
    }

    private static void Del(CniEnv env, NetConf conf, string stdin)
    {
        var ipam = conf.IpamType is null ? new HostLocalIpam(conf.DataDir, conf.Name, LockWait) : null;
        using var agent = new AgentClient(conf.AgentSocket);
        CniException? agentDown = null;
        try { agent.Unregister(env.ContainerId, env.IfName); }
        catch (CniException e) when (e.Code == CniCode.TryAgainLater) { agentDown = e; }
        PodLink.Delete(env.Netns, env.IfName, HostIf(env));
        // While the agent still holds the endpoint its addresses stay allocated, so no other pod gets them; the retried DEL frees them.
        if (agentDown is not null) throw agentDown;
        if (ipam is not null) ipam.Release(env.ContainerId, env.IfName);
        else new DelegatedIpam(conf.IpamType!, env, stdin, conf).Del(env.ContainerId, env.IfName);
        new AttachmentRecords(conf.AttachmentDir).Remove(HostIf(env));
    }

    private static void Check(CniEnv env, NetConf conf, string stdin)
    {
        if (conf.CniVersion is "0.1.0" or "0.2.0" or "0.3.0" or "0.3.1")
            throw new CniException(CniCode.IncompatibleVersion, $"CHECK is not defined for cniVersion {conf.CniVersion} (0.4.0 and later)");
        RequireNetns(env);
        using var agent = new AgentClient(conf.AgentSocket);
        List<Allocation> ips;
        List<PodRoute> routes;
        if (conf.IpamType is null)
        {
            var subnets = Subnets(conf, agent.Node());
            ips = new HostLocalIpam(conf.DataDir, conf.Name, LockWait).Find(subnets, env.ContainerId, env.IfName);
            routes = PodRoute.Defaults(ips);
        }
        else
        {
            var rec = new AttachmentRecords(conf.AttachmentDir).Find(HostIf(env))
                ?? throw new CniException(CniCode.Other, $"no attachment {env.ContainerId}/{env.IfName} is recorded in {conf.AttachmentDir}");
            new DelegatedIpam(conf.IpamType, env, stdin, conf).Check();
            (ips, routes) = ([.. rec.Ips], [.. rec.Routes]);
        }
        if (ips.Count == 0) throw new CniException(CniCode.Other, $"no address is allocated to {env.ContainerId}/{env.IfName}");
        var reg = agent.Find(env.ContainerId, env.IfName)
            ?? throw new CniException(CniCode.Other, $"the agent has no endpoint {env.ContainerId}/{env.IfName}");
        if (!reg.Ips.Order().SequenceEqual(ips.Select(a => a.Address.ToString()).Order()))
            throw new CniException(CniCode.Other, $"the agent's endpoint has {string.Join(",", reg.Ips)}, IPAM holds {string.Join(",", ips.Select(a => a.Address))}");
        if (PodLink.Verify(env.Netns, env.IfName, HostIf(env), ips, routes) is { } problem)
            throw new CniException(CniCode.Other, problem);
    }

    /// <summary>The pod's namespace and name from CNI_ARGS (as kubelet and podman pass them), validated as object names.</summary>
    private static (string Namespace, string Name) PodName(CniEnv env, NetConf conf)
    {
        string ns = env.Arg("K8S_POD_NAMESPACE") ?? conf.Namespace;
        if (!Identifiers.IsObjectName(ns, 63))
            throw new CniException(CniCode.InvalidEnvironment, $"K8S_POD_NAMESPACE '{ns}' is not a namespace name (up to 63 of A-Z a-z 0-9 _ . -)");
        string name = env.Arg("K8S_POD_NAME") ?? env.ContainerId[..Math.Min(12, env.ContainerId.Length)];   // the id is validated
        if (!Identifiers.IsObjectName(name, 253))
            throw new CniException(CniCode.InvalidEnvironment, $"K8S_POD_NAME '{name}' is not a pod name (up to 253 of A-Z a-z 0-9 _ . -)");
        return (ns, name);
    }

    private static string HostIf(CniEnv env) => HostIf(env.ContainerId, env.IfName);

    internal static string HostIf(string containerId, string ifName) => PodLink.HostName($"{containerId}/{ifName}");

    private static void RequireNetns(CniEnv env)
    {
        if (!File.Exists(env.Netns)) throw new CniException(CniCode.ContainerUnknown, $"network namespace {env.Netns} does not exist");
    }

    /// <summary>The configured subnets, or else this node's pod CIDRs as the agent knows them.</summary>
    private static IReadOnlyList<IPNetwork> Subnets(NetConf conf, NodeInfo node)
    {
        if (conf.Subnets.Count > 0) return conf.Subnets;
        var cidrs = node.PodCidrs.Select(c => IPNetwork.Parse(c)).ToList();
        if (cidrs.Count == 0)
            throw new CniException(CniCode.InvalidNetworkConfig, $"node {node.Name} has no pod CIDR and ipam.subnets is not set");
        return cidrs;
    }
}
