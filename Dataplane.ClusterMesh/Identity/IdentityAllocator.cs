using System.Globalization;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.Core.Identity;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Dataplane.ClusterMesh.Identity;

/// <summary>
/// Cluster-wide identity allocation through etcd with Cilium's allocator layout, so every node gets the same
/// number for the same label set:
/// <list type="bullet">
/// <item><c>cilium/state/identities/v1/id/&lt;ID&gt;</c> → label key (the master key, not leased);</item>
/// <item><c>…/value/&lt;label key&gt;/&lt;node&gt;</c> → ID, one per node using it, bound to the node's lease;</item>
/// <item><c>…/locks/&lt;label key&gt;</c>: etcd's lock (held under the node's lease) serialises new allocations of one label set.</item>
/// </list>
/// An existing number is reused by adding this node's value key in a transaction that requires the master key
/// to still name the label set; a new number is taken from the cluster's range (<see cref="IdentityRange"/>) by
/// creating master and value keys in one transaction that requires the master key not to exist yet.
/// </summary>
public sealed class IdentityAllocator : IAsyncDisposable
{
    private const int MaxAttempts = 16;

    private readonly EtcdConnection _etcd;
    private readonly LeaseSession _lease;
    private readonly PrefixWatcher _ids;
    private readonly Dictionary<string, (uint Id, int Refs)> _local = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _localGate = new(1, 1);

    public uint ClusterId { get; }
    /// <summary>This node's suffix in value keys (Cilium uses the node's IP).</summary>
    public string NodeSuffix { get; }

    public IdentityAllocator(EtcdConnection etcd, LeaseSession lease, uint clusterId, string nodeSuffix)
    {
        if (clusterId > IdentityRange.MaxClusterId) throw new ArgumentOutOfRangeException(nameof(clusterId));
        if (nodeSuffix.Length == 0 || nodeSuffix.Contains('/')) throw new ArgumentException("node suffix must be non-empty and free of '/'", nameof(nodeSuffix));
        _etcd = etcd;
        _lease = lease;
        ClusterId = clusterId;
        NodeSuffix = nodeSuffix;
        _ids = new PrefixWatcher(etcd, CiliumKeys.IdentityIds);
        // A replaced lease took this node's value keys with it: claim the identities in use again.
        _lease.Renewed += lease => _ = ReclaimAsync(lease);
    }

    /// <summary>Starts watching the allocated identities and waits for the first listing.</summary>
    public Task StartAsync(CancellationToken ct) { _lease.Start(); return _ids.WaitSyncedAsync(ct); }

    /// <summary>The identity watch is connected to etcd and caught up (so is this node's etcd, as far as it knows).</summary>
    public bool Connected => _ids.Connected;

    /// <summary>Every identity allocated in the cluster (ID → label key), as last seen.</summary>
    public Dictionary<uint, string> Known()
    {
        var result = new Dictionary<uint, string>();
        foreach (var (k, v) in _ids.Snapshot())
            if (uint.TryParse(k.AsSpan(CiliumKeys.IdentityIds.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                result[id] = v;
        return result;
    }

    /// <summary>
    /// The cluster's identity for <paramref name="labels"/>, allocating it if no node has yet. Each call takes a
    /// reference that <see cref="ReleaseAsync"/> gives back. Throws <see cref="KvStoreUnavailableException"/>
    /// when etcd cannot be reached and this node does not hold the label set already.
    /// </summary>
    public async Task<uint> AllocateAsync(LabelSet labels, CancellationToken ct)
    {
        var key = labels.Key;
        await _localGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_local.TryGetValue(key, out var held))
            {
                _local[key] = (held.Id, held.Refs + 1);
                return held.Id;
            }
        }
        finally { _localGate.Release(); }

        uint id = 0;
        for (int attempt = 0; attempt < MaxAttempts && id == 0; attempt++)
            id = await TryAllocateAsync(key, ct).ConfigureAwait(false);
        if (id == 0) throw new InvalidOperationException($"identity allocation for {key} did not converge after {MaxAttempts} attempts");

        await _localGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _local[key] = _local.TryGetValue(key, out var held) ? (held.Id, held.Refs + 1) : (id, 1);
            return _local[key].Id;
        }
        finally { _localGate.Release(); }
    }

    /// <summary>
    /// Drops one reference; the last one deletes this node's value key. When etcd cannot be reached the delete
    /// throws and the reference stays held, so a later release retries it (an outage does not leak the key).
    /// </summary>
    public async Task ReleaseAsync(LabelSet labels, CancellationToken ct)
    {
        var key = labels.Key;
        await _localGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_local.TryGetValue(key, out var held)) return;
            if (held.Refs > 1) { _local[key] = (held.Id, held.Refs - 1); return; }
            // Under the gate: an allocation of the same labels meanwhile must not find a key being deleted.
            await _etcd.DeleteAsync(CiliumKeys.IdentityValue(key, NodeSuffix), ct).ConfigureAwait(false);
            _local.Remove(key);
        }
        finally { _localGate.Release(); }
    }

    /// <summary>One attempt; 0 when it lost a race and should be retried.</summary>
    private async Task<uint> TryAllocateAsync(string key, CancellationToken ct)
    {
        long lease = await _lease.GetAsync(ct).ConfigureAwait(false);
        // Fast path: some node already uses the label set.
        var existing = await _etcd.FirstAsync(CiliumKeys.IdentityValuePrefix(key), ct).ConfigureAwait(false);
        if (existing != null && uint.TryParse(existing.Value.ToStringUtf8(), NumberStyles.None, CultureInfo.InvariantCulture, out var found))
            return await ClaimAsync(key, found, lease, ct).ConfigureAwait(false) ? found : 0;

        var lockKey = await LockAsync(key, lease, ct).ConfigureAwait(false);
        try
        {
            // Re-check under the lock: another node may have finished allocating meanwhile.
            existing = await _etcd.FirstAsync(CiliumKeys.IdentityValuePrefix(key), ct).ConfigureAwait(false);
            if (existing != null && uint.TryParse(existing.Value.ToStringUtf8(), NumberStyles.None, CultureInfo.InvariantCulture, out found))
                return await ClaimAsync(key, found, lease, ct).ConfigureAwait(false) ? found : 0;
            // A master key whose users all went away still names the label set: reuse its number.
            var known = Known();
            foreach (var (kid, label) in known)
                if (label == key && IdentityRange.Contains(ClusterId, kid))
                    return await ClaimAsync(key, kid, lease, ct).ConfigureAwait(false) ? kid : 0;

            uint candidate = PickFree(known);
            if (candidate == 0) throw new InvalidOperationException($"identity range of cluster {ClusterId} is exhausted");
            var masterKey = ByteString.CopyFromUtf8(CiliumKeys.IdentityId(candidate));
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = masterKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
            txn.Success.Add(EtcdConnection.PutOp(CiliumKeys.IdentityId(candidate), key, 0));
            txn.Success.Add(EtcdConnection.PutOp(CiliumKeys.IdentityValue(key, NodeSuffix), Str(candidate), lease));
            var resp = await _etcd.TxnAsync(txn, ct).ConfigureAwait(false);
            return resp.Succeeded ? candidate : 0;
        }
        finally
        {
            await UnlockAsync(lockKey).ConfigureAwait(false);
        }
    }

    /// <summary>Adds this node's value key for an existing number, provided its master key still names the label set.</summary>
    private async Task<bool> ClaimAsync(string key, uint id, long lease, CancellationToken ct)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare
        {
            Key = ByteString.CopyFromUtf8(CiliumKeys.IdentityId(id)), Target = Compare.Types.CompareTarget.Value,
            Result = Compare.Types.CompareResult.Equal, Value = ByteString.CopyFromUtf8(key),
        });
        txn.Success.Add(EtcdConnection.PutOp(CiliumKeys.IdentityValue(key, NodeSuffix), Str(id), lease));
        var resp = await _etcd.TxnAsync(txn, ct).ConfigureAwait(false);
        return resp.Succeeded;
    }

    /// <summary>A random free number of the cluster's range (random, so nodes allocating different label sets rarely collide).</summary>
    private uint PickFree(Dictionary<uint, string> known)
    {
        uint min = IdentityRange.Min(ClusterId), max = IdentityRange.Max(ClusterId);
        uint span = max - min + 1;
        uint start = (uint)Random.Shared.NextInt64(span);
        for (uint i = 0; i < span; i++)
        {
            uint id = min + (start + i) % span;
            if (!known.ContainsKey(id)) return id;
        }
        return 0;
    }

    private async Task<ByteString> LockAsync(string key, long lease, CancellationToken ct)
    {
        // The lock waits for other holders: allow longer than a plain request.
        var resp = await _etcd.RunAsync((c, o) => c.Lock.LockAsync(new V3Lockpb.LockRequest
        {
            Name = ByteString.CopyFromUtf8(CiliumKeys.IdentityLock(key)), Lease = lease,
        }, o).ResponseAsync, ct, _etcd.Options.RequestTimeout * 4).ConfigureAwait(false);
        return resp.Key;
    }

    private async Task UnlockAsync(ByteString lockKey)
    {
        try
        {
            await _etcd.RunAsync((c, o) => c.Lock.UnlockAsync(new V3Lockpb.UnlockRequest { Key = lockKey }, o).ResponseAsync,
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KvStoreUnavailableException or RpcException)
        {
            // The lock key is bound to our lease: it goes when the lease does.
        }
    }

    private async Task ReclaimAsync(long lease)
    {
        List<(string Key, uint Id)> held;
        await _localGate.WaitAsync().ConfigureAwait(false);
        try { held = [.. _local.Select(kv => (kv.Key, kv.Value.Id))]; }
        finally { _localGate.Release(); }
        foreach (var (key, id) in held)
        {
            try
            {
                // Recreate the master key too if it vanished (a wiped etcd); otherwise just our value key.
                var txn = new TxnRequest();
                txn.Compare.Add(new Compare { Key = ByteString.CopyFromUtf8(CiliumKeys.IdentityId(id)), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
                txn.Success.Add(EtcdConnection.PutOp(CiliumKeys.IdentityId(id), key, 0));
                txn.Success.Add(EtcdConnection.PutOp(CiliumKeys.IdentityValue(key, NodeSuffix), Str(id), lease));
                txn.Failure.Add(EtcdConnection.PutOp(CiliumKeys.IdentityValue(key, NodeSuffix), Str(id), lease));
                await _etcd.TxnAsync(txn, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KvStoreUnavailableException or RpcException) { }
        }
    }

    /// <summary>
    /// Deletes master keys no node uses any more (no value key left: their users released them or died),
    /// returning the numbers to the pool, as Cilium's allocator GC does. Each deletion is one transaction that
    /// requires the value-key range to be empty and the master key unchanged, so a node claiming the number
    /// at the same moment either wins (the key stays) or finds it gone and allocates afresh.
    /// </summary>
    public async Task<int> CollectGarbageAsync(CancellationToken ct)
    {
        var (masters, _, _) = await _etcd.ListAsync(CiliumKeys.IdentityIds, ct).ConfigureAwait(false);
        int deleted = 0;
        foreach (var m in masters)
        {
            var valuePrefix = CiliumKeys.IdentityValuePrefix(m.Value.ToStringUtf8());
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare
            {
                Key = ByteString.CopyFromUtf8(valuePrefix), RangeEnd = EtcdConnection.RangeEnd(valuePrefix),
                Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0,
            });
            txn.Compare.Add(new Compare
            {
                Key = m.Key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = m.ModRevision,
            });
            txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = m.Key } });
            if ((await _etcd.TxnAsync(txn, ct).ConfigureAwait(false)).Succeeded) deleted++;
        }
        return deleted;
    }

    private static string Str(uint id) => id.ToString(CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync() => _ids.DisposeAsync();
}
