namespace Dataplane.Core.Policy;

/// <summary>The kind of policy object a rule came from (Cilium's io.cilium.k8s.policy.derived-from label).</summary>
public enum PolicyKind : byte { CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy }

/// <summary>The direction a rule or policy map applies to, seen from the endpoint it selects.</summary>
public enum PolicyDirection : byte { Ingress, Egress }
