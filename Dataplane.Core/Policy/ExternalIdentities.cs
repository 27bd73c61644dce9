using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;

namespace Dataplane.Core.Policy;

/// <summary>
/// Identities and ipcache entries that come from outside the configuration — Cluster Mesh learns them from
/// other clusters' kvstores — with numbers fixed by whoever allocated them. Selectors in policy match their
/// labels like any pod's (e.g. <c>io.cilium.k8s.policy.cluster</c>).
/// </summary>
public sealed record ExternalIdentities(IReadOnlyList<SecurityIdentity> Identities, IReadOnlyList<IpCacheEntry> IpCache);
