using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Veths at the kernel's default offload settings (transmit checksum offload, TSO/GSO on), never touched: the
/// client's kernel hands the dataplane partial checksums and 64 KiB super-frames, and a bulk TCP transfer must
/// still arrive intact (SHA-256 of what the server received equals what the client sent), over IPv4 and IPv6,
/// on each backend. The port counters show the offload work was done (sums completed, super-frames segmented).
/// </summary>
public sealed class OffloadNetnsTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void DefaultOffloadsBulkTcpArrivesIntact(string backend)
    {
        Requires.RootAnd("ip", "python3");
        using var topo = new NetnsTopology(defaultOffloads: true);
        var fwd = topo.StartForwarder(backend);
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            BulkTcp.BothFamilies(topo, fwd.Output);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), fwd.Output);
            string log = fwd.Output;
            output.WriteLine(log);
            Assert.Equal(0, fwd.ExitCode);
            // The client's side of the dataplane got partial sums (AF_XDP: recognised; AF_PACKET: marked by the kernel).
            Assert.Matches($@"port {topo.DpClientIf}: .*csum-completed [1-9]", log);
            // Only AF_PACKET sees TSO super-frames: a native XDP program on a veth turns its peer's GSO off.
            if (backend == "af_packet") Assert.Matches($@"port {topo.DpClientIf}: .*gso-segmented [1-9]", log);
            Assert.Matches(@"offload-refused 0\b", log);
        }
        finally { fwd.Dispose(); }
    }
}
