using System.Collections.Immutable;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Snapshot;
using Dataplane.Host.L7;

namespace Dataplane.Node.L7;

/// <summary>
/// The node's L7 proxy as part of the agent: once some policy carries L7 rules, the proxy's link is made and the proxy
/// started (once; they stay while the agent runs), and every model the agent compiles gets the proxy as an endpoint of
/// its own (namespace kube-system, labels <c>app.kubernetes.io/name=dataplane-l7-proxy</c>) whose address the
/// datapath redirects to. Without L7 rules nothing of it exists.
/// </summary>
public sealed class NodeL7(L7Shared shared, TextWriter log) : IAsyncDisposable
{
    public const string Namespace = "kube-system", Name = "dataplane-l7-proxy";
    private ProxyLink? _link;
    private L7Proxy? _proxy;
    private DnsProxy? _dns;
    private Func<DatapathSnapshot>? _snapshot;

    public L7Proxy? Proxy => _proxy;

    private string? _backend;
    private bool _warned;

    public void Attached(Func<DatapathSnapshot> snapshot, string backend)
    {
        _snapshot = snapshot;
        _backend = backend;
        WarnIfNotEnforced();
    }

    /// <summary>The XDP program has no redirect to the proxy: say so rather than leave L7 rules silently unenforced.</summary>
    private void WarnIfNotEnforced()
    {
        if (_warned || _link is null || _backend != "ebpf") return;
        _warned = true;
        log.WriteLine("agent: L7 rules are NOT enforced by backend ebpf (its program does not redirect to the proxy): connections they allow pass at L3/L4 only — run --backend af_packet, af_xdp or dpdk to enforce them");
        log.Flush();
    }

    public ConfigModel Extend(ConfigModel model)
    {
        if (!L7Rules.Any(model)) return model;
        var node = model.LocalNode;
        if (_link is null)
        {
            var address = ProxyLink.DefaultAddress(node.PodCidrs)
                ?? throw new ConfigException(node.Source, $"node {node.Name}: L7 rules need an IPv4 pod CIDR (the proxy's address is its last usable address)");
            if (model.Pods.FirstOrDefault(p => p.Ips.Contains(address)) is { } taken)
                throw new ConfigException(taken.Source, $"pod {taken.Namespace}/{taken.Name}: {address} is the node's L7 proxy address (the last usable address of the pod CIDR)");
            _link = ProxyLink.Create(address);
            _proxy = L7Proxy.Start(_link, shared, () => _snapshot?.Invoke());
            _dns = new DnsProxy(_link, shared, () => _snapshot?.Invoke());
            log.WriteLine($"agent: L7 proxy listening on {address}:{L7Proxy.ListenPort} (HTTP) and UDP {DnsProxy.ListenPort} (DNS) (network namespace {_link.Namespace}, port {ProxyLink.DatapathName})");
            log.Flush();
            WarnIfNotEnforced();
        }
        var labels = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
            [new KeyValuePair<string, string>("app.kubernetes.io/name", Name)]);
        var pod = new PodSpec(Namespace, Name, labels, ImmutableSortedDictionary<string, string>.Empty, node.Name, "default",
            [_link.Address], MacAddress.Parse(_link.KernelMac), ProxyLink.DatapathName, node.Source)
        { L7ProxyPort = L7Proxy.ListenPort, L7DnsPort = DnsProxy.ListenPort };
        return model with { Pods = [.. model.Pods, pod] };
    }

    public async ValueTask DisposeAsync()
    {
        if (_proxy is not null) await _proxy.DisposeAsync();
        _dns?.Dispose();
        _link?.Dispose();
    }
}
