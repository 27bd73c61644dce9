using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Dataplane.Host.Api;

/// <summary>`dataplane-node status`: asks the running agent over its socket and prints what it answers.</summary>
public static class StatusCommand
{
    /// <summary>Learned routes the text form lists before it summarises the rest.</summary>
    public const int LearnedRoutesShown = 32;

    public static int Run(string socketPath, bool json, TextWriter output, TextWriter error)
    {
        var s = AgentSocket.FetchStatus(socketPath, TimeSpan.FromSeconds(10), out string raw, out string? problem);
        if (s is null)
        {
            error.WriteLine($"error: {problem}");
            return 1;
        }
        if (json)
        {
            output.WriteLine(raw);
            return 0;
        }
        Print(s, output);
        return 0;
    }

    private static void Print(AgentStatus s, TextWriter o)
    {
        o.WriteLine($"node:        {s.Node}");
        o.WriteLine($"backend:     {s.Backend} ({s.Mode}), {s.Workers} worker(s)");
        o.WriteLine($"generation:  {s.Generation} (policy revision), applied {s.LastApplied:u}");
        o.WriteLine(s.LastConfigError is { } err
            ? $"config:      last error at {err.At:u}: {err.Message}"
            : "config:      ok");
        foreach (var skipped in s.Skipped ?? [])
            o.WriteLine($"  {skipped}");
        if (s.HostFirewall is { } hf) o.WriteLine($"host fw:     {hf}");
        o.WriteLine($"conntrack:   {s.ConntrackEntries} / {s.ConntrackCapacity} entries");
        o.WriteLine($"packets:     rx {s.RxPackets}, tx {s.TxPackets}, to host {s.LocalPackets}, dropped {s.DroppedPackets}");
        foreach (var (reason, count) in s.DropsByReason.OrderByDescending(d => d.Value))
            o.WriteLine($"  drop {reason}: {count}");
        o.WriteLine($"flows:       {s.FlowsFile ?? "not exported (run --flows-file)"}");
        if (s.FlowExport is { } f)
        {
            o.WriteLine($"  written {f.Written}, lost (ring full) {f.Lost}, rate-limited drops {f.RateLimited}, unwritten {f.Unwritten}, write errors {f.WriteErrors}");
            if (f.LastError is { } fe) o.WriteLine($"  last write error: {fe}");
        }
        if (s.Ipfix is { } x)
            o.WriteLine($"ipfix:       udp:{x.Collector}: {x.Records} records in {x.Messages} messages, unsent {x.Unsent}, send errors {x.SendErrors}"
                + (x.LastError is { } xe ? $" (last: {xe})" : ""));
        o.WriteLine($"metrics:     {s.MetricsUrl ?? "off (run --metrics-port)"}");
        if (s.ClusterMesh is { } m)
        {
            o.WriteLine($"clustermesh: cluster {m.Cluster} (id {m.ClusterId}), etcd {(m.Connected ? "connected" : "unreachable")}, {m.Published} key(s) published, {m.Pending} pending, {m.LocalIdentities} pod identit(ies)");
            o.WriteLine($"  state {m.StateVersion}: {m.RemoteNodes} remote node(s), {m.RemoteEntries} remote ipcache entries");
            foreach (var r in m.Remotes)
                o.WriteLine($"  {r.Name} (id {r.Id}): {(r.Connected ? "connected" : "disconnected")}, {r.Nodes} node(s), {r.Endpoints} endpoint(s), {r.Identities} identit(ies), {r.Services} service(s), {r.Rejected} rejected{(r.LastError is { } re ? $", last error: {re}" : "")}");
            if (m.LastError is { } me) o.WriteLine($"  last error at {m.LastErrorAt:u}: {me}");
        }
        if (s.Encryption is { } enc)
        {
            o.WriteLine($"encryption:  {enc.Type}, public key {enc.PublicKey}, UDP {enc.Port}{(enc.StrictMode ? ", strict mode" : "")}, {enc.Peers.Count} peer(s)");
            foreach (var p in enc.Peers)
                o.WriteLine($"  peer {p.Node} {p.PublicKey} endpoint {p.Endpoint}, last handshake {(p.LastHandshake is { } h ? h.ToString("u") : "never")}, rx {p.RxBytes} B, tx {p.TxBytes} B");
            foreach (var (name, value) in enc.Counters.Where(c => c.Value != 0))
                o.WriteLine($"  {name}: {value}");
        }
        if (s.Bgp is { } bgp)
        {
            foreach (var i in bgp.Instances)
            {
                o.WriteLine($"bgp:         instance {i.Name}, AS {i.LocalAsn}, router-id {i.RouterId}");
                foreach (var p in i.Peers)
                    o.WriteLine($"  peer {p.Address,-20} AS {p.PeerAsn,-10} {p.State,-12} received {p.PrefixesReceived}, advertised {p.PrefixesAdvertised}{(p.TcpMd5 ? ", TCP MD5" : "")}{(p.LastError is { } le ? $", last error {le}" : "")}");
            }
            o.WriteLine($"  {bgp.LearnedRoutes.Count} learned route(s)");
            // A gateway may hold a full table: the first ones here, every one in `-o json`.
            foreach (var r in bgp.LearnedRoutes.Take(LearnedRoutesShown))
                o.WriteLine($"  route {r.Prefix} via {string.Join(", ", r.NextHops)}");
            if (bgp.LearnedRoutes.Count > LearnedRoutesShown)
                o.WriteLine($"  … and {bgp.LearnedRoutes.Count - LearnedRoutesShown} more (-o json lists them all)");
            foreach (var p in bgp.Problems) o.WriteLine($"  problem: {p}");
        }
        if (s.LoadBalancerIps is { } lb)
        {
            o.WriteLine($"lb-ipam:     {lb.Allocated.Count} allocated, {lb.Pending.Count} pending");
            foreach (var a in lb.Allocated) o.WriteLine($"  {a.Service} {a.Ip} (pool {a.Pool})");
            foreach (var p in lb.Pending) o.WriteLine($"  {p.Service} pending: {p.Reason}");
        }
        o.WriteLine($"interfaces:  {s.Ports.Count}");
        foreach (var p in s.Ports)
            o.WriteLine($"  {p.Id,3} {p.Name,-16} {p.Kind,-9} {(p.Attached ? "attached" : "absent"),-8} rx {p.RxPackets} tx {p.TxPackets} tx-dropped {p.TxDropped}");
        if (s.Neighbors is { Count: > 0 } ns)
        {
            o.WriteLine($"neighbours:  {ns.Count}");
            foreach (var n in ns)
                o.WriteLine($"  {n.Ip,-28} dev {n.Interface,-16} lladdr {n.Mac} {n.State}{(n.Queued > 0 ? $", {n.Queued} queued" : "")}");
        }
        o.WriteLine($"endpoints:   {s.Endpoints.Count}");
        foreach (var e in s.Endpoints)
            o.WriteLine($"  {e.Namespace}/{e.Name,-24} identity {e.Identity,-6} {e.HostInterface,-16} {e.Mac} {string.Join(",", e.Ips)} ({e.Source})");
    }
}
