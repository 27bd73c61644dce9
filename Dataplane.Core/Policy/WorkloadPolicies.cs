namespace Dataplane.Core.Policy;

/// <summary>
/// Policy maps of external workloads (VMs, servers, subnets) that a transit gateway serves: they have no port of
/// their own, so the policy stage finds them by identity — the source identity of a packet from no local endpoint
/// (the workload's egress: traffic entering the mesh) and the destination identity of a packet to none (its
/// ingress). Sorted by identity; empty on a node, where the check costs one length test.
/// </summary>
public sealed class WorkloadPolicies
{
    private readonly uint[] _ids;

    public static WorkloadPolicies Empty { get; } = new([], [], []);

    /// <param name="ids">Identities in ascending order, each once.</param>
    /// <param name="ingress">Each identity's ingress map (traffic to the workload).</param>
    /// <param name="egress">Each identity's egress map (traffic from the workload).</param>
    public WorkloadPolicies(uint[] ids, PolicyMap[] ingress, PolicyMap[] egress)
    {
        if (ids.Length != ingress.Length || ids.Length != egress.Length) throw new ArgumentException("one map pair per identity");
        for (int i = 1; i < ids.Length; i++)
            if (ids[i] <= ids[i - 1]) throw new ArgumentException("identities must be ascending and distinct");
        _ids = ids;
        Ingress = ingress;
        Egress = egress;
    }

    public int Count => _ids.Length;
    public ReadOnlySpan<uint> Identities => _ids;
    public PolicyMap[] Ingress { get; }
    public PolicyMap[] Egress { get; }

    /// <summary>The slot of <paramref name="identity"/>, or -1. Allocation-free.</summary>
    public int IndexOf(uint identity)
    {
        int i = _ids.AsSpan().BinarySearch(identity);
        return i >= 0 ? i : -1;
    }
}
