namespace Dataplane.Dpdk;

/// <summary>A DPDK setup call failed (EAL init, pool, port): the message names the call, DPDK's reason and what to check.</summary>
public sealed class DpdkException(string message) : Exception(message);
