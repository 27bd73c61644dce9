using Dataplane.Ebpf.Loader;

namespace Dataplane.Ebpf.Maps;

// Policy: each endpoint's ingress and egress PolicyMap as dp_policy keys, and its enforcement mode; the host
// endpoint's (HostEndpoint.PolicySlot) under that endpoint number.
public static unsafe partial class MapFiller
{
    private static PolicyMode ModeOf(Core.Policy.PolicyMap[] maps, int id) =>
        id >= maps.Length ? PolicyMode.None : maps[id].Enforced ? PolicyMode.Enforced : PolicyMode.Open;

    private static PolicyMode HostModeOf(Core.Policy.PolicyMap[] maps)
    {
        const int slot = (int)Core.Policy.HostEndpoint.PolicySlot;
        return maps.Length <= slot || ReferenceEquals(maps[slot], Core.Policy.PolicyMap.Unenforced) ? PolicyMode.None : ModeOf(maps, slot);
    }

    private static void AddPolicy(Dictionary<PolicyKey, PolicyValue> policy, Core.Policy.PolicyMap[] maps, bool egress)
    {
        for (int ep = 0; ep < maps.Length; ep++)
        {
            foreach (var (identity, proto, entries) in maps[ep].Keys())
            {
                if (entries.Length > DatapathLimits.PolicyRanges)
                    throw new EbpfMapFullException("dp_policy", DatapathLimits.PolicyRanges,
                        $"endpoint {(ep == 0 ? "host" : ep.ToString())} {(egress ? "egress" : "ingress")}: {entries.Length} port ranges for peer identity {identity} protocol {proto}; the eBPF policy map holds at most {DatapathLimits.PolicyRanges} per (peer, protocol)");
                var v = new PolicyValue { Count = (uint)entries.Length };
                for (int i = 0; i < entries.Length; i++)
                    v[i] = new PolicyRange { Low = entries[i].Low, High = entries[i].High, Rule = entries[i].Rule, Deny = entries[i].Deny };
                policy[new PolicyKey { Endpoint = (uint)ep, Identity = identity, Proto = proto, Egress = egress ? (byte)1 : (byte)0 }] = v;
            }
        }
    }
}
