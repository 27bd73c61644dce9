using Dataplane.Ebpf.Loader;

namespace Dataplane.Ebpf.Tests.Support;

/// <summary>
/// The BPF program loaded once per test class (the verifier takes a while on a busy machine); each test fills
/// the maps from its own snapshot. Two flavours: stateless (policy on every packet) and with conntrack. The
/// <see cref="Hook"/> says which entry point the differential tests run: <see cref="TcDatapathFixture"/> loads
/// the TC program too and runs the same tests through it.
/// </summary>
public class DatapathFixture : IDisposable
{
    public const int CtFlows = 512;
    private readonly Lazy<EbpfDatapath> _stateless;
    private readonly Lazy<EbpfDatapath> _tracked;

    public DatapathFixture() : this(BpfHook.Xdp) { }

    protected DatapathFixture(BpfHook hook)
    {
        Hook = hook;
        bool tc = hook == BpfHook.Tc;
        // The host firewall's egress hook is small: every load has it, for DualPipeline.CompareHostEgress.
        _stateless = new(() => EbpfDatapath.Load(new EbpfOptions { Conntrack = false, TestRunMetadata = true, TcProgram = tc, HostEgressProgram = true }));
        _tracked = new(() => EbpfDatapath.Load(new EbpfOptions
        {
            Conntrack = true, ConntrackMaxEntries = CtFlows, TestRunMetadata = true, TcProgram = tc, HostEgressProgram = true,
        }));
    }

    public BpfHook Hook { get; }

    public EbpfDatapath Stateless => _stateless.Value;
    public EbpfDatapath Tracked => _tracked.Value;

    public static void RequireRoot()
    {
        Requires.Root();
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (_stateless.IsValueCreated) _stateless.Value.Dispose();
        if (_tracked.IsValueCreated) _tracked.Value.Dispose();
    }
}

/// <summary>The same programs and maps, with the differential tests going through the TC entry point (dp_tc).</summary>
public sealed class TcDatapathFixture() : DatapathFixture(BpfHook.Tc);
