namespace Dataplane.Core.Policy;

/// <summary>Where a policy map entry came from, for flow records: the policy object and the direction.</summary>
public sealed record PolicyRuleRef(uint Id, PolicyKind Kind, string Name, string Namespace, PolicyDirection Direction, bool Deny)
{
    /// <summary>The HTTP rules of the toPorts entry this rule allows through (null: none — L3/L4 only); connections it
    /// allows are redirected to the node's L7 proxy, which applies them.</summary>
    public L7.HttpPolicy? Http { get; init; }

    /// <summary>The DNS rules of the toPorts entry (null: none); lookups it allows go through the node's DNS proxy.</summary>
    public L7.DnsPolicy? Dns { get; init; }

    /// <summary>Cilium's derived policy labels (io.cilium.k8s.policy.*), as in a flow's *_allowed_by entries.</summary>
    public IEnumerable<string> Labels
    {
        get
        {
            yield return $"k8s:io.cilium.k8s.policy.derived-from={Kind}";
            yield return $"k8s:io.cilium.k8s.policy.name={Name}";
            if (Namespace.Length > 0) yield return $"k8s:io.cilium.k8s.policy.namespace={Namespace}";
        }
    }
}
