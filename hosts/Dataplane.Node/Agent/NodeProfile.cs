using Dataplane.Control.Config;
using Dataplane.Host.Agent;
using Dataplane.Host.Api;
using Dataplane.Node.Api;
using Dataplane.Node.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dataplane.Node.Agent;

/// <summary>
/// What the node adds to the host runtime: the pods the CNI plugin registers (<see cref="NodeEndpoints"/>), merged
/// into every compilation, and the API routes the plugin talks to:
/// <list type="bullet">
/// <item>GET /v1/node — <see cref="NodeInfo"/> (pod CIDRs, router MAC: what the CNI plugin addresses pods from)</item>
/// <item>PUT /v1/endpoints — register an <see cref="EndpointRegistration"/>; 200 <see cref="EndpointResult"/>, 400 <see cref="ApiError"/></item>
/// <item>GET|DELETE /v1/endpoints/{containerId}/{ifName} — look up / unregister (DELETE is idempotent)</item>
/// </list>
/// The node's config kinds are the loader's (Node, Pod, DataplaneNode, Cilium policies, Services …).
/// </summary>
public sealed class NodeProfile(string stateDir, TextWriter log, Dataplane.Host.L7.L7Shared? l7 = null, TimeSpan? fqdnMinTtl = null) : HostProfile
{
    public NodeEndpoints Endpoints { get; } = new(stateDir, log);

    /// <summary>The node's L7 proxy (made once some policy carries L7 rules); null without the agent's shared tables.</summary>
    public L7.NodeL7? L7 { get; } = l7 is null ? null : new L7.NodeL7(l7, log, fqdnMinTtl);

    public override void Starting(ConfigModel files, TextWriter log) => Endpoints.Restore(files);

    public override void Attached(HostAgent agent) => L7?.Attached(() => agent.Snapshot, agent.Options.PacketIo.Name, () =>
        agent.Locked(() =>
        {
            // A learned name changes only identities and policy; a model that no longer compiles keeps the one in force.
            try { agent.Apply(null); }
            catch (ConfigException e) { agent.ReportError(e.Message); }
        }));

    public override ConfigModel Extend(ConfigModel files)
    {
        var merged = Endpoints.Extend(files);
        return L7 is null ? merged : L7.Extend(merged);
    }

    public override string EndpointSource(string ns, string name) => Endpoints.IsRegistered(ns, name) ? "cni" : "config";

    public override void MapApi(IEndpointRouteBuilder api, HostAgent agent)
    {
        api.MapGet("/v1/node", () =>
        {
            var s = agent.Snapshot;
            var node = agent.Files.LocalNode;
            return Results.Ok(new NodeInfo(s.NodeName, [.. node.PodCidrs.Select(c => c.ToString())], StatusReport.FormatMac(s.RouterMac), s.Generation));
        });
        api.MapPut("/v1/endpoints", (EndpointRegistration reg) =>
        {
            if (EndpointStore.Validate(reg) is { } problem) return Results.BadRequest(new ApiError(problem));
            try { return Results.Ok(Endpoints.Register(agent, reg)); }
            catch (ConfigException e) { return Results.BadRequest(new ApiError(e.Reason)); }
        });
        api.MapGet("/v1/endpoints/{containerId}/{ifName}", (string containerId, string ifName) =>
            Endpoints.Store.Find(containerId, ifName) is { } reg ? Results.Ok(reg) : Results.NotFound(new ApiError("no such endpoint")));
        api.MapDelete("/v1/endpoints/{containerId}/{ifName}", (string containerId, string ifName) =>
            Results.Ok(new { removed = Endpoints.Unregister(agent, containerId, ifName) }));
    }
}
