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
/// toFQDNs: the DNS proxy's allowed answers go into <see cref="Fqdns"/>; every model gets the pairs held
/// (<see cref="ConfigModel.FqdnIps"/>, compiled into CIDR identities). An answer that brings a pair some toFQDNs
/// selector of the model in force selects makes the agent recompile and swap the snapshot before the answer is
/// relayed; a loop wakes once a second and recompiles when selected pairs expired (their addresses are denied again).
/// </summary>
public sealed class NodeL7(L7Shared shared, TextWriter log, TimeSpan? fqdnMinTtl = null) : IAsyncDisposable
{
    public const string Namespace = "kube-system", Name = "dataplane-l7-proxy";
    private ProxyLink? _link;
    private L7Proxy? _proxy;
    private DnsProxy? _dns;
    private Func<DatapathSnapshot>? _snapshot;
    private Action? _recompile;
    private readonly SemaphoreSlim _recompiling = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _expiry;
    private Core.L7.DnsPattern[] _selectors = [];

    public L7Proxy? Proxy => _proxy;

    /// <summary>What the DNS proxy learned for toFQDNs.</summary>
    public Core.L7.FqdnCache Fqdns { get; } = new(fqdnMinTtl ?? Core.L7.FqdnCache.DefaultMinTtl);

    private string? _backend;
    private bool _warned;

    /// <param name="recompile">Recompiles the agent's model (files and what the node merges) and swaps the snapshot; returns once it is in force.</param>
    public void Attached(Func<DatapathSnapshot> snapshot, string backend, Action recompile)
    {
        _snapshot = snapshot;
        _backend = backend;
        _recompile = recompile;
        WarnIfNotEnforced();
    }

    private static long Now => Environment.TickCount64;

    /// <summary>The DNS proxy's allowed answer: cached; recompiled when it brings a pair a toFQDNs selector selects.</summary>
    private async Task LearnedAsync(Core.L7.DnsAnswer answer)
    {
        if (!Fqdns.Learn(answer.Name, answer.Addresses, answer.Ttl, Now)) return;
        if (!Selected(answer.Name)) return;
        await RecompileAsync($"{answer.Name} → {string.Join(", ", answer.Addresses)} (TTL {answer.Ttl} s)");
    }

    private bool Selected(string name)
    {
        foreach (var s in Volatile.Read(ref _selectors)) if (s.Matches(name)) return true;
        return false;
    }

    private async Task RecompileAsync(string why)
    {
        if (_recompile is null) return;
        await _recompiling.WaitAsync();
        try
        {
            await Task.Run(_recompile);
            log.WriteLine($"agent: toFQDNs: {why}: policy recompiled");
            log.Flush();
        }
        finally { _recompiling.Release(); }
    }

    /// <summary>Once a second: selected pairs past their expiry are dropped and the policy recompiled without them.</summary>
    private async Task ExpiryLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var gone = Fqdns.Expire(Now);
                var selected = gone.Where(g => Selected(g.Name)).ToList();
                if (selected.Count > 0)
                    await RecompileAsync($"expired {string.Join(", ", selected.Select(g => $"{g.Name} {g.Address}"))}");
            }
        }
        catch (OperationCanceledException) { }
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
        Volatile.Write(ref _selectors, [.. model.Policies.SelectMany(p => p.Rules).SelectMany(r => r.Egress).SelectMany(peer => peer.Fqdns)]);
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
            _dns = new DnsProxy(_link, shared, () => _snapshot?.Invoke(), LearnedAsync);
            _expiry = Task.Run(ExpiryLoopAsync);
            log.WriteLine($"agent: L7 proxy listening on {address}:{L7Proxy.ListenPort} (HTTP) and UDP {DnsProxy.ListenPort} (DNS) (network namespace {_link.Namespace}, port {ProxyLink.DatapathName})");
            log.Flush();
            WarnIfNotEnforced();
        }
        var labels = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
            [new KeyValuePair<string, string>("app.kubernetes.io/name", Name)]);
        var pod = new PodSpec(Namespace, Name, labels, ImmutableSortedDictionary<string, string>.Empty, node.Name, "default",
            [_link.Address], MacAddress.Parse(_link.KernelMac), ProxyLink.DatapathName, node.Source)
        { L7ProxyPort = L7Proxy.ListenPort, L7DnsPort = DnsProxy.ListenPort };
        return model with { Pods = [.. model.Pods, pod], FqdnIps = _selectors.Length == 0 ? [] : Fqdns.Entries(Now) };
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_expiry is not null) await _expiry;
        if (_proxy is not null) await _proxy.DisposeAsync();
        _dns?.Dispose();
        _link?.Dispose();
    }
}
