namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// etcd could not be reached (or did not answer within the request timeout). Reads keep being served from
/// the local caches; writes that cannot wait (identity allocation) fail with this; publications stay queued.
/// </summary>
public sealed class KvStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
