using Dataplane.Core.Snapshot;
using Dataplane.Host.Backends.AfPacket;
using Dataplane.Host.Backends.AfXdp;
using Dataplane.Host.Backends.Dpdk;
using Dataplane.Host.Backends.Ebpf;
using Dataplane.Host.Run;

namespace Dataplane.Host.Backends;

/// <summary>
/// Backend selection: the one place that knows every backend by name. A host asks for the names (to offer them on
/// its command line) and creates the chosen one; everything after that goes through <see cref="IPacketBackend"/>.
/// </summary>
public static class BackendCatalog
{
    /// <summary>What --backend accepts, the default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [AfPacketBackend.Id, AfXdpBackend.Id, DpdkBackend.Id, EbpfBackend.Id];

    public static string Default => AfPacketBackend.Id;

    /// <summary>
    /// Creates the backend <paramref name="options"/> names, set up for <paramref name="first"/> (the eBPF program is
    /// loaded, filled and attached; the lanes' ports open when the agent starts them). Throws
    /// <see cref="Dataplane.Control.Config.ConfigException"/> when the backend cannot run that configuration.
    /// </summary>
    /// <param name="encryption">Transparent encryption (null: off); a lane backend takes it over (and disposes it).</param>
    public static IPacketBackend Create(RunOptions options, DatapathSnapshot first, TextWriter log, Encryption.NodeEncryption? encryption = null)
    {
        IPacketBackend backend = options.PacketIo.Name switch
        {
            AfPacketBackend.Id => new AfPacketBackend(options, first, log),
            AfXdpBackend.Id => new AfXdpBackend(options, first, log),
            DpdkBackend.Id => DpdkBackend.Start(options, first, log),
            EbpfBackend.Id => EbpfBackend.Start(options, first, log),
            var other => throw new ArgumentException($"unknown backend '{other}' (one of {string.Join(", ", Names)})", nameof(options)),
        };
        if (encryption is not null)
        {
            if (backend is not Lanes.LaneBackend lanes)
            {
                backend.Dispose();
                throw new ArgumentException($"encryption (WireGuard) needs a backend with C# lanes, not {backend.Name}", nameof(options));
            }
            lanes.Encryption = encryption;
        }
        return backend;
    }
}
