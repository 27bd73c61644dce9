using System.Diagnostics;
using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Core.Identity;
using Xunit.Abstractions;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>
/// Cluster Mesh to an etcd that requires mutual TLS (<c>--client-cert-auth</c>, certificates made with openssl),
/// configured as cilium-agent is: one Cilium etcd config file per remote cluster in a clustermesh directory.
/// Cluster c2 (id 2) publishes through its own (server-certificate) client; this node watches it.
/// </summary>
public sealed class EtcdTlsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestPki _pki = null!;
    private EtcdProcess _etcd = null!;
    private LocalNode _c2 = null!;
    private string _dir = null!;

    public async Task InitializeAsync()
    {
        _pki = TestPki.Create();
        _etcd = await EtcdProcess.StartAsync(new EtcdTls(_pki.Ca, _pki.ServerCert, _pki.ServerKey));
        _c2 = new LocalNode(_etcd.Connect(), "c2", 2, "node-c2", "198.18.2.1", TimeSpan.FromSeconds(10), ownsConnection: true);
        await _c2.StartAsync(Eventually.Timeout());
        _dir = Path.Combine(_pki.Dir, "clustermesh");
        Directory.CreateDirectory(_dir);
    }

    public async Task DisposeAsync()
    {
        await _c2.DisposeAsync();
        await _etcd.DisposeAsync();
        _pki.Dispose();
    }

    /// <summary>Publishes one pod of cluster c2 at 198.18.20.<paramref name="n"/>.</summary>
    private async Task PublishPod(int n)
    {
        var labels = LabelKeys.InCluster(new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", "io.kubernetes.pod.namespace", "shop")]), "c2");
        var id = await _c2.Identities.AllocateAsync(labels, Eventually.Timeout());
        _c2.PublishEndpoint(IpIdentityPair.ForEndpoint(IPAddress.Parse($"198.18.20.{n}"), IPAddress.Parse("198.18.2.1"), id, "node-c2", n, "shop", $"web-{n}"));
        await _c2.FlushAsync(Eventually.Timeout());
    }

    /// <summary>Copies a file over another in one rename, as a Secret update lands.</summary>
    private static void Replace(string from, string to)
    {
        var tmp = to + ".new";
        File.Copy(from, tmp, overwrite: true);
        File.Move(tmp, to, overwrite: true);
    }

    private ClusterMeshConfig MeshConfig() => ClusterMeshConfigLoader.Load(Path.Combine(_pki.Dir, "mesh.yaml"), $$"""
        apiVersion: dataplane.io/v1alpha1
        kind: ClusterMeshConfig
        metadata: {name: mesh}
        spec:
          cluster: {name: c1, id: 1}
          etcd: {endpoints: ["http://127.0.0.1:9"]}
          clustermeshDir: clustermesh
        """);

    [SkippableFact]
    public async Task AClustermeshDirectoryOfCiliumEtcdConfigsConnectsOverMutualTlsAndLearnsTheClusterId()
    {
        await PublishPod(7);
        TestPki.WriteEtcdConfig(_dir, "c2", _etcd.Endpoint, "../ca.crt", "../client.crt", "../client.key");
        // What else a mounted clustermesh Secret holds: hidden links, the certificates, this cluster's own entry.
        TestPki.WriteEtcdConfig(_dir, "..data", "https://127.0.0.1:1");
        TestPki.WriteEtcdConfig(_dir, "c1", "https://127.0.0.1:1");
        File.Copy(_pki.Ca, Path.Combine(_dir, "c2.etcd-client-ca.crt"));

        var config = MeshConfig();
        var rc = Assert.Single(config.RemoteClusters);
        Assert.Equal(("c2", 0u), (rc.Name, rc.Id));
        Assert.Equal(_pki.Ca, rc.EtcdClient.TrustedCaFile);

        await using var view = new ClusterMeshView(config, EtcdProcess.Fast);
        await view.StartAsync(Eventually.Timeout());
        var c2 = view.Remotes[0];
        Assert.Equal(2u, c2.ClusterId);   // from cilium/cluster-config/c2
        var ep = Assert.Single(c2.Endpoints());
        Assert.Equal(IPNetwork.Parse("198.18.20.7/32"), ep.Prefix);
        Assert.True(IdentityRange.Contains(2, ep.Identity));
        Assert.Contains(ep.Identity, c2.Identities().Keys);
    }

    [SkippableFact]
    public async Task ClientsEtcdOrWeMustRefuseGetAClearError()
    {
        async Task<string> Refused(string name, string? ca, string? cert, string? key, string? serverName = null)
        {
            var path = TestPki.WriteEtcdConfig(_dir, name, _etcd.Endpoint, ca, cert, key, serverName);
            using var c = EtcdConnection.FromFile(path, EtcdProcess.Fast);
            var e = await Assert.ThrowsAsync<KvStoreUnavailableException>(() => c.ListAsync("cilium/", Eventually.Timeout()));
            output.WriteLine($"{name}: {e.Message}");
            return e.Message;
        }

        // etcd refuses: no client certificate, or one from another CA. The handshake fails on its side.
        Assert.Contains("etcd closed the TLS session: it requires a client certificate and none is configured (cert-file",
            await Refused("no-cert", _pki.Ca, null, null));
        Assert.Contains($"etcd closed the TLS session: it refused client certificate {_pki.RogueCert} (CN=root, issued by CN=someone-elses-ca)",
            await Refused("rogue", _pki.Ca, _pki.RogueCert, _pki.RogueKey));
        // This client knows why.
        Assert.Contains($"client certificate {_pki.ExpiredCert} expired at 2020-01-02", await Refused("expired", _pki.Ca, _pki.ExpiredCert, _pki.ExpiredKey));
        Assert.Contains($"is not trusted by trusted-ca-file {_pki.OtherCa}", await Refused("wrong-ca", _pki.OtherCa, _pki.ClientCert, _pki.ClientKey));
        Assert.Contains("is not valid for wrong.example", await Refused("wrong-name", _pki.Ca, _pki.ClientCert, _pki.ClientKey, "wrong.example"));
        // A plaintext client of a TLS etcd fails too (it never gets an HTTP/2 answer).
        using (var plain = new EtcdConnection([$"http://127.0.0.1:{_etcd.ClientPort}"], EtcdProcess.Fast))
            await Assert.ThrowsAsync<KvStoreUnavailableException>(() => plain.ListAsync("cilium/", Eventually.Timeout()));

        // And the right ones connect, the server name given explicitly or taken from the endpoint.
        foreach (var serverName in new[] { TestPki.ServerName, null })
        {
            var path = TestPki.WriteEtcdConfig(_dir, "good", _etcd.Endpoint, _pki.Ca, _pki.ClientCert, _pki.ClientKey, serverName);
            using var good = EtcdConnection.FromFile(path, EtcdProcess.Fast);
            var (kvs, _, _) = await good.ListAsync("cilium/cluster-config/", Eventually.Timeout());
            Assert.Single(kvs);
        }
    }

    /// <summary>
    /// The CA file is replaced by a wrong one while connected: the change is picked up, the reconnection is refused
    /// with the reason in the remote's error, and the cached state stays (no entry lost, none invented) while
    /// cluster c2 changes; with the right CA back the watch resumes and delivers what changed meanwhile.
    /// </summary>
    [SkippableFact]
    public async Task AWrongCaAfterConnectingKeepsTheCachedStateAndSaysWhyThenRecovers()
    {
        await PublishPod(7);
        var ca = Path.Combine(_dir, "c2.etcd-client-ca.crt");
        File.Copy(_pki.Ca, ca);
        TestPki.WriteEtcdConfig(_dir, "c2", _etcd.Endpoint, ca, _pki.ClientCert, _pki.ClientKey);
        await using var view = new ClusterMeshView(MeshConfig(), EtcdProcess.Fast);
        await view.StartAsync(Eventually.Timeout());
        var c2 = view.Remotes[0];
        await Eventually.True(() => c2.Connected, "watching c2");

        Replace(_pki.OtherCa, ca);
        await Eventually.True(() => !c2.Connected && c2.Watchers.Any(w => w.LastError?.Message.Contains("is not trusted by trusted-ca-file") == true),
            "the wrong CA reported");
        await PublishPod(8);
        await Task.Delay(1000);
        Assert.Equal(["198.18.20.7/32"], c2.Endpoints().Select(e => e.Prefix.ToString()));
        Assert.True(c2.Etcd.Reloads >= 1);

        Replace(_pki.Ca, ca);
        await Eventually.True(() => c2.Connected && c2.EndpointCount == 2, "reconnected with the right CA and caught up");
        Assert.Equal(0, c2.Watchers.Sum(w => w.Resyncs));   // resumed from its revision, not relisted
    }

    /// <summary>An expired client certificate is named in the error; a renewed one written in its place is used without a restart.</summary>
    [SkippableFact]
    public async Task AnExpiredClientCertificateIsReportedAndItsRenewalPickedUp()
    {
        await PublishPod(7);
        string cert = Path.Combine(_dir, "c2.etcd-client.crt"), key = Path.Combine(_dir, "c2.etcd-client.key");
        File.Copy(_pki.ExpiredCert, cert);
        File.Copy(_pki.ExpiredKey, key);
        TestPki.WriteEtcdConfig(_dir, "c2", _etcd.Endpoint, _pki.Ca, cert, key);
        await using var view = new ClusterMeshView(MeshConfig(), EtcdProcess.Fast);
        var c2 = view.Remotes[0];
        var e = await Assert.ThrowsAsync<KvStoreUnavailableException>(() => c2.StartAsync(Eventually.Timeout()));
        Assert.Contains($"client certificate {cert} expired at 2020-01-02", e.Message);

        Replace(_pki.ClientKey, key);
        Replace(_pki.ClientCert, cert);
        await Eventually.True(() => c2.Etcd.Reloads >= 1 && c2.Etcd.ConfigProblem == null, "the renewed certificate loaded");
        await c2.StartAsync(Eventually.Timeout());
        Assert.Equal(1, c2.EndpointCount);
    }

    /// <summary>etcd user auth (username/password in the config file) over the same mutual TLS.</summary>
    [SkippableFact]
    public async Task UsernameAndPasswordAuthenticateAndAWrongPasswordIsRefusedClearly()
    {
        Etcdctl("user", "add", "root:s3cret");
        Etcdctl("user", "grant-role", "root", "root");
        Etcdctl("auth", "enable");

        var good = TestPki.WriteEtcdConfig(_dir, "good", _etcd.Endpoint, _pki.Ca, _pki.ClientCert, _pki.ClientKey, user: "root", password: "s3cret");
        using (var c = EtcdConnection.FromFile(good, EtcdProcess.Fast))
        {
            await c.PutAsync("cilium/auth-test", "1", 0, Eventually.Timeout());
            Assert.Equal("1", (await c.GetAsync("cilium/auth-test", Eventually.Timeout()))!.Value.ToStringUtf8());
        }
        var bad = TestPki.WriteEtcdConfig(_dir, "bad", _etcd.Endpoint, _pki.Ca, _pki.ClientCert, _pki.ClientKey, user: "root", password: "wrong");
        using (var c = EtcdConnection.FromFile(bad, EtcdProcess.Fast))
        {
            var e = await Assert.ThrowsAsync<KvStoreUnavailableException>(() => c.GetAsync("cilium/auth-test", Eventually.Timeout()));
            output.WriteLine(e.Message);
            Assert.Contains("etcd refused authentication as user root", e.Message);
        }
        // Without a user, the certificate's CN (root) is the user: etcd's own rule with client-cert-auth.
        using (var c = EtcdConnection.FromFile(TestPki.WriteEtcdConfig(_dir, "cn", _etcd.Endpoint, _pki.Ca, _pki.ClientCert, _pki.ClientKey), EtcdProcess.Fast))
            Assert.NotNull(await c.GetAsync("cilium/auth-test", Eventually.Timeout()));
    }

    private void Etcdctl(params string[] args)
    {
        var psi = new ProcessStartInfo("etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["ETCDCTL_API"] = "3";
        foreach (var a in new[] { "--endpoints", _etcd.Endpoint, "--cacert", _pki.Ca, "--cert", _pki.ServerCert, "--key", _pki.ServerKey }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var o = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "etcdctl hung");
        Assert.True(p.ExitCode == 0, $"etcdctl {string.Join(' ', args)}: {o}{err.Result}");
    }
}
