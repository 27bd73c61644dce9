using System.Runtime.CompilerServices;
using Dataplane.Ebpf.Interop;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// Which entry point of the datapath runs a packet: the XDP program, the TC (sched_cls) one, or the host firewall's
/// egress hook (dp_host_egress: a frame the node's own stack sends out of the port).
/// </summary>
public enum BpfHook
{
    Xdp,
    Tc,
    HostEgress,
}

/// <summary>
/// What one BPF_PROG_TEST_RUN of the datapath produced: the program's return code (an XDP action or a TC
/// action, by <see cref="Hook"/>), the packet as the program left it and the program's own record of the verdict
/// (for the host egress hook, a default record with token 0 when the program let the frame pass unjudged).
/// </summary>
public sealed record TestRunResult(BpfHook Hook, uint ReturnCode, byte[] Output, DpVerdict Verdict)
{
    /// <summary>The XDP action; null for a TC run.</summary>
    public XdpAction? Action => Hook == BpfHook.Xdp ? (XdpAction)ReturnCode : null;

    /// <summary>The TC action; null for an XDP run.</summary>
    public TcAction? TcAction => Hook != BpfHook.Xdp ? (TcAction)ReturnCode : null;

    /// <summary>False when the host egress hook let the frame pass without judging (and counting) it.</summary>
    public bool Judged => Verdict.Token != 0;
}

public sealed unsafe partial class EbpfDatapath
{
    private uint _token;

    /// <summary>
    /// Runs one frame through the loaded program with BPF_PROG_TEST_RUN (no interface involved): the frame as
    /// received on <paramref name="inPort"/> at Unix time <paramref name="nowSeconds"/> (0: the program's own
    /// clock, bpf_ktime_get_ns + the filler's offset), both passed as test metadata (honoured only with
    /// <see cref="EbpfOptions.TestRunMetadata"/>): XDP metadata in front of the frame for the XDP program,
    /// skb->cb[] for the TC one (<see cref="EbpfOptions.TcProgram"/>).
    /// </summary>
    public TestRunResult TestRun(ReadOnlySpan<byte> frame, ushort inPort, uint nowSeconds, BpfHook hook = BpfHook.Xdp)
    {
        // Drivers drop runts before XDP, and BPF_PROG_TEST_RUN refuses them too (an skb run needs the Ethernet
        // header for eth_type_trans).
        if (frame.Length < 14) throw new ArgumentException("the datapath never sees a frame shorter than an Ethernet header", nameof(frame));
        uint token = ++_token;
        var (rc, output) = hook switch
        {
            BpfHook.Xdp => RunXdp(frame, inPort, nowSeconds, token),
            BpfHook.Tc => RunTc(TcProgramFd, frame, inPort, nowSeconds, token),
            _ => RunTc(HostEgressProgramFd, frame, inPort, nowSeconds, token),
        };
        return new TestRunResult(hook, rc, output, LastVerdict(token, required: hook != BpfHook.HostEgress));
    }

    private (uint, byte[]) RunXdp(ReadOnlySpan<byte> frame, ushort inPort, uint nowSeconds, uint token)
    {
        int meta = sizeof(DpTestMeta);
        var input = new byte[meta + frame.Length];
        var tm = new DpTestMeta { Magic = DpTestMeta.TestMagic, Token = token, Now = nowSeconds, InPort = inPort };
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
            return (opts.retval, output.AsSpan(meta, (int)opts.data_size_out - meta).ToArray());
        }
    }

    /// <summary>
    /// True for a frame the kernel's skb BPF_PROG_TEST_RUN refuses with EINVAL before the program runs: an IPv4
    /// EtherType with less than an IPv4 header (20 bytes) after Ethernet, or an IPv6 one with less than 40 (the
    /// test run sets up the network header from skb->protocol). A real tc ingress can still see such frames
    /// (it runs before ip_rcv drops them); only this way of testing cannot produce them.
    /// </summary>
    public static bool SkbTestRunRefuses(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14) return true;
        int ethertype = (frame[12] << 8) | frame[13];
        int l3 = frame.Length - 14;
        return (ethertype == 0x0800 && l3 < 20) || (ethertype == 0x86dd && l3 < 40);
    }

    private (uint, byte[]) RunTc(int programFd, ReadOnlySpan<byte> frame, ushort inPort, uint nowSeconds, uint token)
    {
        if (programFd < 0) throw new InvalidOperationException("the TC program was not loaded: load with EbpfOptions.TcProgram (HostEgressProgram) = true");
        var input = frame.ToArray();
        // Room for the largest push (SRv6 with its segment list) on top of the frame.
        var output = new byte[input.Length + 512];
        var ctx = new sk_buff_test_ctx();
        ctx.cb[0] = DpTestMeta.TestMagic;
        ctx.cb[1] = token;
        ctx.cb[2] = nowSeconds;
        ctx.cb[3] = inPort;
        fixed (byte* i = input)
        fixed (byte* o = output)
        {
            var opts = new bpf_test_run_opts
            {
                sz = (nuint)sizeof(bpf_test_run_opts),
                data_in = i, data_size_in = (uint)input.Length,
                data_out = o, data_size_out = (uint)output.Length,
                ctx_in = &ctx, ctx_size_in = (uint)sizeof(sk_buff_test_ctx),
                repeat = 1,
            };
            int rc = Bpf.bpf_prog_test_run_opts(programFd, &opts);
            if (rc != 0) throw new EbpfMapException($"BPF_PROG_TEST_RUN (TC) of a {frame.Length}-byte frame failed: errno {Bpf.Err(rc)}");
            return (opts.retval, output.AsSpan(0, (int)opts.data_size_out).ToArray());
        }
    }

    /// <summary>
    /// The per-CPU last-verdict record written for <paramref name="token"/> (whichever CPU ran it); none is an
    /// error unless not <paramref name="required"/> (then a default record, token 0).
    /// </summary>
    private DpVerdict LastVerdict(uint token, bool required)
    {
        foreach (var v in Last.LookupPerCpu<uint, DpVerdict>(0))
            if (v.Token == token) return v;
        if (!required) return default;
        throw new EbpfMapException($"no CPU recorded a verdict for test run {token}");
    }
}
