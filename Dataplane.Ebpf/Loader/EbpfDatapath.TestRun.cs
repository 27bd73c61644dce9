using System.Runtime.CompilerServices;
using Dataplane.Ebpf.Interop;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Loader;

/// <summary>What one BPF_PROG_TEST_RUN of the datapath produced.</summary>
public sealed record TestRunResult(XdpAction Action, byte[] Output, DpVerdict Verdict);

public sealed unsafe partial class EbpfDatapath
{
    private uint _token;

    /// <summary>
    /// Runs one frame through the loaded program with BPF_PROG_TEST_RUN (no interface involved): the frame as
    /// received on <paramref name="inPort"/> at Unix time <paramref name="nowSeconds"/> (0: the program's own
    /// clock, bpf_ktime_get_ns + the filler's offset), both passed in the XDP metadata (honoured only with <see cref="EbpfOptions.TestRunMetadata"/>). Returns the XDP action, the
    /// packet as the program left it and the program's own record of the verdict.
    /// </summary>
    public TestRunResult TestRun(ReadOnlySpan<byte> frame, ushort inPort, uint nowSeconds)
    {
        // Drivers drop runts before XDP, and BPF_PROG_TEST_RUN refuses them too.
        if (frame.Length < 14) throw new ArgumentException("an XDP program never sees a frame shorter than an Ethernet header", nameof(frame));
        int meta = sizeof(DpTestMeta);
        uint token = ++_token;
        var input = new byte[meta + frame.Length];
        var tm = new DpTestMeta { Magic = DpTestMeta.MagicValue, Token = token, Now = nowSeconds, InPort = inPort };
        Unsafe.WriteUnaligned(ref input[0], tm);
        frame.CopyTo(input.AsSpan(meta));
        var output = new byte[input.Length + 256];
        fixed (byte* i = input)
        fixed (byte* o = output)
        {
            var ctx = new xdp_md { data = (uint)meta, data_end = (uint)input.Length };
            var opts = new bpf_test_run_opts
            {
                sz = (nuint)sizeof(bpf_test_run_opts),
                data_in = i, data_size_in = (uint)input.Length,
                data_out = o, data_size_out = (uint)output.Length,
                ctx_in = &ctx, ctx_size_in = (uint)sizeof(xdp_md),
                repeat = 1,
            };
            int rc = Bpf.bpf_prog_test_run_opts(ProgramFd, &opts);
            if (rc != 0) throw new EbpfMapException($"BPF_PROG_TEST_RUN of a {frame.Length}-byte frame failed: errno {Bpf.Err(rc)}");
            // The output starts at the metadata, which the program leaves alone.
            var packet = output.AsSpan(meta, (int)opts.data_size_out - meta).ToArray();
            return new TestRunResult((XdpAction)opts.retval, packet, LastVerdict(token));
        }
    }

    /// <summary>The per-CPU last-verdict record written for <paramref name="token"/> (whichever CPU ran it).</summary>
    private DpVerdict LastVerdict(uint token)
    {
        foreach (var v in Last.LookupPerCpu<uint, DpVerdict>(0))
            if (v.Token == token) return v;
        throw new EbpfMapException($"no CPU recorded a verdict for test run {token}");
    }
}
