using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Dataplane.Bgp.Cilium;
using Dataplane.Bgp.Session;
using Dataplane.Control.Config;
using Dataplane.Core.Routing;
using Dataplane.Host.Agent;
using Dataplane.Host.Api;

namespace Dataplane.Host.Bgp;

/// <summary>
/// The host's BGP speakers, one per BGP instance the configuration gives this node (see <see cref="BgpPlanning"/>).
/// Each applied configuration is handed over (<see cref="ModelApplied"/>) and reconciled on this class's own loop —
/// peers added, changed or removed, announcements and withdrawals sent — never under the agent's apply lock.
/// What the speakers select from their peers becomes the model's <see cref="ConfigModel.LearnedRoutes"/>: a change
/// recompiles the datapath and swaps the snapshot, like any other change (ECMP where several peers tie), so a lost
/// session takes its routes out of forwarding. <see cref="StopAsync"/> withdraws every announcement and closes the
/// sessions with a Cease before the host stops forwarding.
/// </summary>
public sealed class BgpAgent : IAsyncDisposable
{
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(100), MinHold = TimeSpan.FromSeconds(1), WithdrawWait = TimeSpan.FromSeconds(3);

    private readonly HostAgent _agent;
    private readonly TextWriter _log;
    private readonly Dictionary<string, (BgpSpeaker Speaker, DesiredInstance Desired)> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _state = new();
    private ConfigModel? _model;
    private int _modelDirty, _ribDirty;
    /// <summary>Selection changes raised by the RIBs so far: tells a table still arriving from a quiet RIB.</summary>
    private long _ribChanges;
    /// <summary>How long the last apply of learned routes took (merge, compile, swap).</summary>
    private TimeSpan _lastApply;
    private List<string> _problems = [];
    private ImmutableArray<LearnedRouteSpec> _learned = [];
    private Task? _loop;

    internal BgpAgent(HostAgent agent, TextWriter log)
    {
        _agent = agent;
        _log = log;
    }

    /// <summary>A configuration was put in force: reconcile the speakers with it (on the BGP loop).</summary>
    internal void ModelApplied(ConfigModel merged)
    {
        Volatile.Write(ref _model, merged);
        Interlocked.Exchange(ref _modelDirty, 1);
        _wake.Release();
    }

    /// <summary>What the host announces changed without a new configuration (a gateway's mesh node came or went): plan again.</summary>
    internal void Replan()
    {
        if (Volatile.Read(ref _model) is null) return;
        Interlocked.Exchange(ref _modelDirty, 1);
        _wake.Release();
    }

    /// <summary>Starts the loop; called once forwarding runs, so nothing is announced that the node cannot serve yet.</summary>
    internal void Start() => _loop = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(token).ConfigureAwait(false);
                long first = System.Diagnostics.Stopwatch.GetTimestamp(), seen = Interlocked.Read(ref _ribChanges);
                await Task.Delay(Settle, token).ConfigureAwait(false);   // a burst of changes becomes one reconcile
                // A table still arriving is one burst too: while the RIBs keep changing, hold on — up to twice what the
                // last apply took (at least MinHold) — so a full table is applied a few times, not once per Settle
                // with every apply walking all routes so far, and applying takes at most a third of the arrival. A
                // pause shorter than a tenth of the last apply (a starved receive thread, TCP) is not the end of it.
                var hold = TimeSpan.FromTicks(Math.Max(MinHold.Ticks, 2 * _lastApply.Ticks));
                var quiet = TimeSpan.FromTicks(Math.Max(Settle.Ticks, _lastApply.Ticks / 10));
                while (Interlocked.Read(ref _ribChanges) != seen && Volatile.Read(ref _modelDirty) == 0
                       && System.Diagnostics.Stopwatch.GetElapsedTime(first) < hold)
                {
                    seen = Interlocked.Read(ref _ribChanges);
                    await Task.Delay(quiet, token).ConfigureAwait(false);
                }
                while (_wake.CurrentCount > 0) _wake.Wait(0);
                if (Interlocked.Exchange(ref _modelDirty, 0) == 1 && Volatile.Read(ref _model) is { } m) await ReconcileAsync(m).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _ribDirty, 0) == 1) PushLearned();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { return; }
            catch (Exception e) when (e is SocketException or IOException or InvalidOperationException or ArgumentException)
            {
                lock (_state) _problems = [.. _problems, e.Message];
                _log.WriteLine($"agent: bgp: {e.Message}");
            }
        }
    }

    private async Task ReconcileAsync(ConfigModel m)
    {
        var problems = new List<string>();
        m = _agent.Profile.ForBgp(m);
        var desired = BgpPlanning.Plan(m, Log, problems, _agent.Profile.AdvertisedPodCidrs(m));
        foreach (var name in _running.Keys.Where(n => !desired.Any(d => d.Name == n)).ToList())
        {
            await StopInstanceAsync(name).ConfigureAwait(false);
            _log.WriteLine($"agent: bgp: instance {name} removed");
        }
        foreach (var d in desired)
        {
            if (_running.TryGetValue(d.Name, out var run))
            {
                if (run.Desired.Fingerprint == d.Fingerprint) continue;
                if (run.Desired.Speaker != d.Speaker)
                {
                    await StopInstanceAsync(d.Name).ConfigureAwait(false);
                    run = default;
                }
            }
            var speaker = run.Speaker;
            if (speaker is null)
            {
                speaker = new BgpSpeaker(d.Speaker);
                try { speaker.Start(); }
                catch (SocketException e)
                {
                    problems.Add($"BGP instance '{d.Name}': cannot listen on {d.Speaker.Listen}: {e.Message}");
                    await speaker.DisposeAsync().ConfigureAwait(false);
                    continue;
                }
                // One wake per burst: a full table raises a million changes, the loop needs to hear of the first.
                speaker.Rib.Changed += _ =>
                {
                    Interlocked.Increment(ref _ribChanges);
                    if (Interlocked.Exchange(ref _ribDirty, 1) == 0) _wake.Release();
                };
                _log.WriteLine($"agent: bgp: instance {d.Name} AS {d.Speaker.LocalAs} router-id {d.Speaker.RouterId}{(d.Speaker.Listen is { } l ? $" listening on port {l.Port}" : "")}");
            }
            lock (_state) _running[d.Name] = (speaker, d);
            await CiliumBgpReconciler.ApplyAsync(speaker, d.Plan).ConfigureAwait(false);
            foreach (var p in d.Plan.Peers)
                _log.WriteLine($"agent: bgp: {d.Name}: peer {p.Config.Address} AS {p.Config.RemoteAs}{(p.Config.Password is null ? "" : " (TCP MD5)")}: {p.Routes.Count} route(s) to advertise");
        }
        lock (_state) _problems = problems;
        foreach (var p in problems) _log.WriteLine($"agent: bgp: {p}");
        // Routes of removed instances or peers left the RIBs without an event from a disposed speaker.
        PushLearned();
        _log.Flush();
    }

    private void Log(string line)
    {
        lock (_log) _log.WriteLine($"agent: {line}");
    }

    /// <summary>Every speaker's selected paths, merged: one route per prefix over the next hops of every tie, in a
    /// stable order (family, length, address: <see cref="RouteOrder"/>; next hops by address) so an unchanged RIB compares equal and applies
    /// nothing. A full table is a million prefixes: no strings, LINQ or per-route collections here — one speaker's
    /// sets are read in one copy, and routes over the same next hops share one next-hop array (<see cref="Via"/>),
    /// which the compiler then resolves once for the run of routes naming it.</summary>
    private void PushLearned()
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        LearnedRouteSpec[] items;
        if (_running.Count == 1)
        {
            var sets = _running.Values.First().Speaker.Rib.BestSets();
            items = new LearnedRouteSpec[sets.Length];
            var via = new List<IPAddress>(2);
            for (int i = 0; i < sets.Length; i++)
            {
                var (prefix, best) = sets[i];
                via.Clear();
                foreach (var r in best)
                    if (!via.Contains(r.NextHop)) via.Add(r.NextHop);
                items[i] = new LearnedRouteSpec(new IPNetwork(prefix.Address, prefix.Length), Via(via), "bgp");
            }
        }
        else
        {
            var byPrefix = new Dictionary<IPNetwork, List<IPAddress>>();
            foreach (var (speaker, _) in _running.Values)
            {
                foreach (var (prefix, best) in speaker.Rib.BestSets())
                {
                    var net = new IPNetwork(prefix.Address, prefix.Length);
                    if (!byPrefix.TryGetValue(net, out var via)) byPrefix[net] = via = new List<IPAddress>(best.Length);
                    foreach (var r in best)
                        if (!via.Contains(r.NextHop)) via.Add(r.NextHop);
                }
            }
            items = new LearnedRouteSpec[byPrefix.Count];
            int n = 0;
            foreach (var (net, via) in byPrefix) items[n++] = new LearnedRouteSpec(net, Via(via), "bgp");
        }
        var order = new RouteOrder[items.Length];
        for (int i = 0; i < items.Length; i++) order[i] = new RouteOrder(items[i].Prefix, i);
        Array.Sort(order, items);
        var routes = ImmutableCollectionsMarshal.AsImmutableArray(items);
        if (routes.SequenceEqual(_learned, LearnedEquals)) return;
        _learned = routes;
        _agent.ApplyLearnedRoutes(routes, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        _lastApply = System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Next-hop sets seen so far, each one array: a full table names a handful of sets a million times.</summary>
    private readonly List<ImmutableArray<IPAddress>> _viaSets = [];

    /// <summary><paramref name="via"/> (sorted here) as the one shared array of that set.</summary>
    private ImmutableArray<IPAddress> Via(List<IPAddress> via)
    {
        if (via.Count > 1) via.Sort(AddressOrder);
        foreach (var known in _viaSets)
            if (known.AsSpan().SequenceEqual(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(via))) return known;
        ImmutableArray<IPAddress> set = [.. via];
        // Bounded: sets come from peers' next hops; an unusual churn of them must not grow this without end.
        if (_viaSets.Count >= 64) _viaSets.RemoveAt(0);
        _viaSets.Add(set);
        return set;
    }

    private static readonly Comparison<IPAddress> AddressOrder = static (a, b) => Key(a).CompareTo(Key(b));

    /// <summary>An address as a number (IPv4 in the low 32 bits), for ordering.</summary>
    private static UInt128 Key(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork
        ? RoutePrefix.ToUInt32(a) : RoutePrefix.ToUInt128(a);

    private static readonly EqualityComparer<LearnedRouteSpec> LearnedEquals = EqualityComparer<LearnedRouteSpec>.Create(
        (a, b) => ReferenceEquals(a, b) || (a!.Prefix.Equals(b!.Prefix) && (a.NextHops == b.NextHops || a.NextHops.AsSpan().SequenceEqual(b.NextHops.AsSpan()))),
        r => r.Prefix.GetHashCode());

    private async Task StopInstanceAsync(string name)
    {
        (BgpSpeaker Speaker, DesiredInstance Desired) run;
        lock (_state) if (!_running.Remove(name, out run)) return;
        await WithdrawAndCloseAsync(run.Speaker).ConfigureAwait(false);
    }

    /// <summary>Withdraws every announcement, waits (bounded) until the established peers have been sent the
    /// withdrawals, then closes each session with a Cease NOTIFICATION.</summary>
    private static async Task<int> WithdrawAndCloseAsync(BgpSpeaker speaker)
    {
        var prefixes = speaker.LocalRoutes().Select(r => r.Prefix).ToArray();
        speaker.Withdraw(prefixes);
        var deadline = DateTime.UtcNow + WithdrawWait;
        while (DateTime.UtcNow < deadline && speaker.Peers.Any(p => p.State == SessionState.Established && p.PrefixesAdvertised > 0))
            await Task.Delay(20).ConfigureAwait(false);
        await speaker.StopAsync().ConfigureAwait(false);
        return prefixes.Length;
    }

    /// <summary>Graceful stop: every instance withdraws and closes; the loop ends. Forwarding still runs meanwhile.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_loop is not null) await _loop.ConfigureAwait(false);
        int routes = 0, peers = 0;
        foreach (var (speaker, _) in _running.Values)
        {
            peers += speaker.Peers.Count(p => p.State == SessionState.Established);
            routes += await WithdrawAndCloseAsync(speaker).ConfigureAwait(false);
        }
        if (_running.Count > 0) _log.WriteLine($"agent: bgp: withdrew {routes} route(s) from {peers} established peer(s) and closed the sessions");
        lock (_state) _running.Clear();
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    internal BgpStatus Status()
    {
        var instances = new List<BgpInstanceStatus>();
        KeyValuePair<string, (BgpSpeaker Speaker, DesiredInstance Desired)>[] running;
        lock (_state) running = [.. _running];
        foreach (var (name, (speaker, _)) in running)
        {
            var peers = speaker.Peers.OrderBy(p => p.Config.Address.ToString(), StringComparer.Ordinal)
                .Select(p => new BgpPeerStatus(p.Config.Address.ToString(), p.Config.RemoteAs, p.State.ToString(),
                    p.PrefixesReceived, p.PrefixesAdvertised, p.Config.Password is not null, p.LastError?.ToString()))
                .ToList();
            instances.Add(new BgpInstanceStatus(name, speaker.Config.LocalAs, speaker.Config.RouterId.ToString(), peers));
        }
        List<string> problems;
        lock (_state) problems = _problems;
        return new BgpStatus(instances, [.. _learned.Select(r => new BgpLearnedRouteStatus(r.Prefix.ToString(), [.. r.NextHops.Select(n => n.ToString())]))], problems);
    }
}
