using Dataplane.Dpdk.Eal;
using Dataplane.Dpdk.Ethdev;

namespace Dataplane.Dpdk.Tests.Support;

/// <summary>
/// One EAL for the in-process tests (DPDK allows one rte_eal_init per process): two net_ring ports (each loops its
/// transmit ring back to its receive ring), a net_null port that receives endless 64-byte frames, a net_memif
/// server/client pair joined by an abstract socket of this run, one pool.
/// Its own --file-prefix; disposed = ports closed, pool freed, rte_eal_cleanup, runtime directory removed.
/// </summary>
public sealed class EalFixture : IDisposable
{
    public EalFixture()
    {
        if (!Sh.IsRoot) return; // the tests report the reason
        Prefix = DpdkEnv.NewPrefix();
        Eal = DpdkEal.Init(["--no-huge", "-m", "128", "--file-prefix", Prefix,
            "--vdev", "net_ring0", "--vdev", "net_ring1", "--vdev", "net_null0,size=64,copy=1",
            "--vdev", $"net_memif0,role=server,id=0,socket=/{Prefix}.sock,socket-abstract=yes",
            "--vdev", $"net_memif1,role=client,id=0,socket=/{Prefix}.sock,socket-abstract=yes"]);
        Pool = new MbufPool("dpt_pool", 4095);
        Ring0 = new EthDev(EthDev.FindPort("net_ring0")!.Value, Pool);
        Ring1 = new EthDev(EthDev.FindPort("net_ring1")!.Value, Pool);
        Null0 = new EthDev(EthDev.FindPort("net_null0")!.Value, Pool);
        MemifServer = new EthDev(EthDev.FindPort("net_memif0")!.Value, Pool);
        MemifClient = new EthDev(EthDev.FindPort("net_memif1")!.Value, Pool);
    }

    public string Prefix { get; } = "";
    public DpdkEal? Eal { get; }
    public MbufPool Pool { get; } = null!;
    public EthDev Ring0 { get; } = null!;
    public EthDev Ring1 { get; } = null!;
    public EthDev Null0 { get; } = null!;
    public EthDev MemifServer { get; } = null!;
    public EthDev MemifClient { get; } = null!;

    public void Dispose()
    {
        if (Eal is null) return;
        MemifClient.Dispose(); MemifServer.Dispose();
        Ring0.Dispose(); Ring1.Dispose(); Null0.Dispose();
        Pool.Dispose();
        Eal.Dispose();
    }
}

[CollectionDefinition("eal")]
public sealed class EalCollection : ICollectionFixture<EalFixture>;
