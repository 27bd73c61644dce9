using Dataplane.Ebpf.Loader;

namespace Dataplane.Ebpf.Tests.Support;

/// <summary>
/// The BPF program loaded once per test class (the verifier takes a while on a busy machine); each test fills
/// the maps from its own snapshot. Two flavours: stateless (policy on every packet) and with conntrack.
/// </summary>
public sealed class DatapathFixture : IDisposable
{
    public const int CtFlows = 512;
    private readonly Lazy<EbpfDatapath> _stateless = new(() => EbpfDatapath.Load(new EbpfOptions { Conntrack = false, TestRunMetadata = true }));
    private readonly Lazy<EbpfDatapath> _tracked = new(() => EbpfDatapath.Load(new EbpfOptions
    {
        Conntrack = true, ConntrackMaxEntries = CtFlows, TestRunMetadata = true,
    }));

    public EbpfDatapath Stateless => _stateless.Value;
    public EbpfDatapath Tracked => _tracked.Value;

    public static void RequireRoot()
    {
        if (Environment.UserName != "root" && geteuid() != 0)
            Assert.Fail("needs root (BPF_PROG_LOAD); .ci/run runs as root");
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    public void Dispose()
    {
        if (_stateless.IsValueCreated) _stateless.Value.Dispose();
        if (_tracked.IsValueCreated) _tracked.Value.Dispose();
    }
}
