using Dataplane.Control.Config;
using Dataplane.Host.Agent;
using Dataplane.Node.Api;

namespace Dataplane.Node.Endpoints;

/// <summary>
/// The pods the CNI plugin registered with this node's agent: kept in an <see cref="EndpointStore"/> across
/// restarts and merged into every model the agent compiles. A registration is applied first and stored only when
/// the result validated and the backend took it, both under the agent's apply lock, so the store never holds
/// an endpoint that would make the next change fail.
/// </summary>
public sealed class NodeEndpoints(string stateDir, TextWriter log)
{
    public EndpointStore Store { get; } = new(Path.Combine(stateDir, "agent"), log);

    /// <summary>Registrations that no longer fit <paramref name="files"/> (e.g. a pod CIDR changed while the agent was down) are dropped.</summary>
    public void Restore(ConfigModel files)
    {
        var accepted = new List<EndpointRegistration>();
        foreach (var reg in Store.All)
        {
            try
            {
                EndpointMerger.Merge(files, [.. accepted, reg], stateDir);
                accepted.Add(reg);
            }
            catch (ConfigException e)
            {
                // Dropped from the store too: kept, it would make every later change fail to merge.
                Store.Remove(reg.ContainerId, reg.IfName);
                log.WriteLine($"agent: registered endpoint {reg.Namespace}/{reg.Name} ({reg.ContainerId}/{reg.IfName}) dropped, it no longer fits the config: {e.Reason}");
            }
        }
    }

    public ConfigModel Extend(ConfigModel files) => EndpointMerger.Merge(files, Store.All, stateDir);

    public bool IsRegistered(string ns, string name) => Store.All.Any(r => r.Namespace == ns && r.Name == name);

    /// <summary>Registers (or replaces) an endpoint; throws <see cref="ConfigException"/> and stores nothing when it does not fit.</summary>
    public EndpointResult Register(HostAgent agent, EndpointRegistration reg) => agent.Locked(() =>
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var others = Store.All.Where(r => r.ContainerId != reg.ContainerId || r.IfName != reg.IfName).ToList();
        agent.Apply(EndpointMerger.Merge(agent.Files, [.. others, reg], stateDir));
        Store.Put(reg);
        log.WriteLine($"agent: endpoint {reg.Namespace}/{reg.Name} ({reg.HostInterface}, {string.Join(", ", reg.Ips)}) registered: generation {agent.Generation}, in {sw.Elapsed.TotalMilliseconds:F1} ms");
        log.Flush();
        var ep = agent.Snapshot.Endpoints.First(e => e is not null && e.Namespace == reg.Namespace && e.Name == reg.Name)!;
        return new EndpointResult(ep.Namespace, ep.Name, reg.HostInterface, ep.Identity, new Dictionary<string, string>(ep.Labels), agent.Generation);
    });

    /// <summary>Removes an endpoint; false when it was not registered.</summary>
    public bool Unregister(HostAgent agent, string containerId, string ifName) => agent.Locked(() =>
    {
        var reg = Store.Find(containerId, ifName);
        if (reg is null) return false;
        var rest = Store.All.Where(r => r != reg).ToList();
        try { agent.Apply(EndpointMerger.Merge(agent.Files, rest, stateDir)); }
        catch (ConfigException e)
        {
            // Removing a pod cannot make a valid config invalid; if it does, the port still goes away with the registration.
            agent.ReportError(e.Message);
        }
        Store.Remove(containerId, ifName);
        log.WriteLine($"agent: endpoint {reg.Namespace}/{reg.Name} ({reg.HostInterface}) unregistered: generation {agent.Generation}");
        log.Flush();
        return true;
    });
}
