using Dataplane.ClusterMesh.Kvstore;
using Etcdserverpb;
using Grpc.Net.Client;

namespace Dataplane.Testing.Etcd;

/// <summary>
/// A replicated etcd: several real etcd members on loopback (unique ports, own data dirs) forming one raft cluster.
/// Members are killed and restarted through <see cref="EtcdProcess.StopAsync"/>/<see cref="EtcdProcess.StartAgainAsync"/>
/// (a restart rejoins with its data dir). Disposal kills every member and removes its directory.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    public IReadOnlyList<EtcdProcess> Members { get; }
    public IReadOnlyList<string> Endpoints => [.. Members.Select(m => m.Endpoint)];

    private EtcdCluster(IReadOnlyList<EtcdProcess> members) => Members = members;

    public static async Task<EtcdCluster> StartAsync(int size = 3)
    {
        var members = Enumerable.Range(1, size).Select(i => new EtcdProcess($"m{i}")).ToList();
        var cluster = new EtcdCluster(members);
        try
        {
            var initial = string.Join(",", members.Select(m => $"{m.Name}={m.PeerUrl}"));
            foreach (var m in members)
            {
                m.InitialCluster = initial;
                m.ClusterToken = members[0].ClusterToken;
            }
            // All up before waiting: a member answers only once a majority elected a leader.
            foreach (var m in members) m.Launch();
            foreach (var m in members) await m.WaitReadyAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    public EtcdConnection Connect(EtcdOptions? options = null) => new(Endpoints, options ?? EtcdProcess.Fast);

    /// <summary>The member the running members agree is the leader (asked through etcd's Maintenance.Status).</summary>
    public async Task<EtcdProcess> LeaderAsync()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            foreach (var m in Members.Where(m => m.Running))
            {
                try
                {
                    using var ch = GrpcChannel.ForAddress(m.Endpoint);
                    var s = await new Maintenance.MaintenanceClient(ch).StatusAsync(new StatusRequest(),
                        deadline: DateTime.UtcNow.AddSeconds(2));
                    if (s.Leader != 0 && s.Leader == s.Header.MemberId) return m;
                }
                catch (Grpc.Core.RpcException) { /* down or electing: ask the next */ }
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException("no member reports itself leader");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var m in Members) await m.DisposeAsync();
    }
}
