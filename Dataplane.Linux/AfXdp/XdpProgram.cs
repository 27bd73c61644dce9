using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux.AfXdp;

/// <summary>
/// The embedded XDP redirect program (see Xdp/xsk_redirect.bpf.c) loaded for one interface and attached
/// through a BPF link: native (driver) mode when the driver supports it, generic (skb) mode otherwise. Closing
/// the link fd — or the process dying — detaches it, so a crashed forwarder leaves no program behind.
/// </summary>
public sealed unsafe class XdpProgram : IDisposable
{
    public const string ResourceName = "xsk_redirect.bpf.o";

    private void* _obj;
    private int _link = -1;

    public XdpProgram(int ifIndex, XdpAttachMode mode)
    {
        using var stream = typeof(XdpProgram).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new PlatformNotSupportedException("the XDP program was not built (clang was missing at build time)");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        fixed (byte* p = bytes)
        {
            _obj = LibBpf.bpf_object__open_mem(p, (nuint)bytes.Length, null);
            if (_obj == null) throw Errno.Error("bpf_object__open_mem");
        }
        try
        {
            int rc = LibBpf.bpf_object__load(_obj);
            if (rc != 0) throw new LinuxException("bpf_object__load", -rc);
            void* prog = LibBpf.bpf_object__find_program_by_name(_obj, "xsk_redirect");
            void* map = LibBpf.bpf_object__find_map_by_name(_obj, "xsks_map");
            if (prog == null || map == null) throw new InvalidOperationException("XDP object lacks xsk_redirect/xsks_map");
            MapFd = LibBpf.bpf_map__fd(map);
            int progFd = LibBpf.bpf_program__fd(prog);

            int err = 0;
            if (mode != XdpAttachMode.Generic && TryAttach(progFd, ifIndex, LibBpf.XDP_FLAGS_DRV_MODE, out err))
                Mode = XdpAttachMode.Native;
            else if (mode != XdpAttachMode.Native && TryAttach(progFd, ifIndex, LibBpf.XDP_FLAGS_SKB_MODE, out err))
                Mode = XdpAttachMode.Generic;
            else
                throw new LinuxException($"bpf_link_create(BPF_XDP, ifindex {ifIndex})", err);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int MapFd { get; }
    public XdpAttachMode Mode { get; }

    private bool TryAttach(int progFd, int ifIndex, uint flags, out int err)
    {
        bpf_link_create_opts opts = default;
        opts.sz = (nuint)sizeof(bpf_link_create_opts);
        opts.flags = flags;
        int fd = LibBpf.bpf_link_create(progFd, ifIndex, LibBpf.BPF_XDP, &opts);
        err = fd < 0 ? (fd == -1 ? Errno.Last : -fd) : 0;
        if (fd < 0) return false;
        _link = fd;
        return true;
    }

    /// <summary>Steers the interface's <paramref name="queue"/> to the AF_XDP socket <paramref name="xskFd"/>.</summary>
    public void Register(uint queue, int xskFd)
    {
        int rc = LibBpf.bpf_map_update_elem(MapFd, &queue, &xskFd, 0);
        if (rc != 0) throw new LinuxException("bpf_map_update_elem(xsks_map)", rc == -1 ? Errno.Last : -rc);
    }

    public void Dispose()
    {
        if (_link >= 0) { LibC.close(_link); _link = -1; }
        if (_obj != null) { LibBpf.bpf_object__close(_obj); _obj = null; }
    }
}

public enum XdpAttachMode
{
    /// <summary>Native if the driver supports it, else generic.</summary>
    Auto,
    Native,
    Generic,
}
