using Dataplane.Control.Config;
using Microsoft.AspNetCore.Routing;

namespace Dataplane.Host.Agent;

/// <summary>
/// What a host program adds to the runtime: how its config directory becomes a validated model (its config
/// kinds), what it merges into that model before compilation (the node: pods the CNI plugin registered), and the
/// routes it adds to the local API. Everything else — backends, the watch → validate → compile → swap loop,
/// status, metrics, flows, signals, Cluster Mesh — is the same for every host. The defaults are a host with
/// nothing of its own.
/// </summary>
public class HostProfile
{
    /// <summary>Loads and validates the whole directory; throws <see cref="ConfigException"/> (file:line) and returns nothing partial.</summary>
    public virtual ConfigModel Load(string configDir) => ConfigLoader.LoadDirectory(configDir);

    /// <summary>`validate DIR`: every file and document read as <see cref="Load"/> reads them, every error collected.</summary>
    public virtual ConfigReport Check(string configDir) => ConfigLoader.Check(configDir);

    /// <summary>Once, with the first model that validated, before anything is compiled (restore state kept across restarts).</summary>
    public virtual void Starting(ConfigModel files, TextWriter log) { }

    /// <summary>Once the agent exists (before forwarding starts): what the host runs beside it may hold on to it.</summary>
    public virtual void Attached(HostAgent agent) { }

    /// <summary>The model the datapath is compiled from: <paramref name="files"/> plus what the host holds beside them.</summary>
    public virtual ConfigModel Extend(ConfigModel files) => files;

    /// <summary>Where an endpoint of the status came from ("config": a Pod in the directory).</summary>
    public virtual string EndpointSource(string ns, string name) => "config";

    /// <summary>
    /// The prefixes a CiliumBGPAdvertisement of type PodCIDR announces from this host: the node announces its own
    /// pod CIDRs (null: the local Node's); a transit gateway announces the pod CIDRs of the mesh behind it.
    /// </summary>
    public virtual IEnumerable<System.Net.IPNetwork>? AdvertisedPodCidrs(ConfigModel merged) => null;

    /// <summary>Which of the routes BGP selected enter the datapath (the node: all; a gateway: those inside the prefixes it serves).</summary>
    public virtual System.Collections.Immutable.ImmutableArray<LearnedRouteSpec> AcceptLearned(ConfigModel merged,
        System.Collections.Immutable.ImmutableArray<LearnedRouteSpec> learned) => learned;

    /// <summary>The model BGP plans from (a gateway that lost the whole mesh announces no service VIPs).</summary>
    public virtual ConfigModel ForBgp(ConfigModel merged) => merged;

    /// <summary>Once a second on the agent's loop, after the interfaces were polled (a gateway follows its mesh nodes).</summary>
    public virtual void Poll(HostAgent agent) { }

    /// <summary>Adds the host's own routes to the local API (next to GET /v1/status).</summary>
    public virtual void MapApi(IEndpointRouteBuilder api, HostAgent agent) { }
}
