using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// A real runtime: podman (CNI backend) starts two containers from an image built here offline (a busybox
/// rootfs, `podman import`) on a network whose conflist names our plugin by type; the plugin wires them to our
/// agent, which forwards between them. They ping and talk TCP (nc) through the dataplane, get their identities
/// from the YAML Pods of the same name, a deny policy dropped into the config directory cuts them off
/// (POLICY_DENY, 181), and `podman rm` runs DEL, which leaves no endpoint, address or interface behind.
/// podman runs in the dataplane's network namespace (nsenter, so /sys and its cgroups stay visible) with its
/// own --root/--runroot, containers.conf and CNI directories, all under this run's temporary directory.
/// </summary>
public sealed class PodmanCniTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public void TwoContainersReachEachOtherThroughTheDataplaneUntilADenyPolicy()
    {
        Requires.RootAnd("podman", "runc", "nsenter", "/bin/busybox");
        string suffix = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        string web = $"web-{suffix}", db = $"db-{suffix}";
        using var node = new CniNode($"""
            ---
            apiVersion: v1
            kind: Pod
            metadata: {"{"}name: {web}, namespace: default, labels: {"{"}app: web{"}"}{"}"}
            spec: {"{"}nodeName: dp{"}"}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {"{"}name: {db}, namespace: default, labels: {"{"}app: db{"}"}{"}"}
            spec: {"{"}nodeName: dp{"}"}
            """);
        var agent = node.StartAgent();
        using var podman = new Podman(node);
        try
        {
            podman.Must("run", "-d", "--name", web, "--network", node.NetworkName, podman.Image, "sleep", "300");
            podman.Must("run", "-d", "--name", db, "--network", node.NetworkName, podman.Image, "sleep", "300");
            string webIp = podman.Ipv4Of(web), dbIp = podman.Ipv4Of(db);
            output.WriteLine($"{web} {webIp}, {db} {dbIp}");
            Assert.StartsWith("198.18.100.", webIp);
            Assert.StartsWith("198.18.100.", dbIp);

            // Served by our agent, with the YAML Pods' labels (distinct identities for app=web and app=db).
            var status = node.Status();
            var webEp = Assert.Single(status.Endpoints, e => e.Name == web);
            var dbEp = Assert.Single(status.Endpoints, e => e.Name == db);
            Assert.Equal(("cni", "cni"), (webEp.Source, dbEp.Source));
            Assert.NotEqual(webEp.Identity, dbEp.Identity);
            Assert.Contains(status.Ports, p => p.Name == webEp.HostInterface && p.Attached);

            var ping = podman.Run("exec", web, "ping", "-c", "3", "-W", "2", dbIp);
            Assert.True(ping.Ok, ping.Output + agent.Output);
            Assert.Contains("ttl=63", ping.Output);   // routed by the dataplane, not bridged

            // busybox nc -l serves one connection and exits: a loop, so a first attempt that connected while the check
            // below read the file too early does not leave nothing listening for the next one.
            podman.Must("exec", "-d", db, "sh", "-c", "while true; do nc -l -p 7000 >> /tmp/got; done");
            Assert.True(Eventually(() => podman.Run("exec", web, "sh", "-c", $"echo hello-dataplane | nc -w 3 {dbIp} 7000").Ok
                && podman.Run("exec", db, "cat", "/tmp/got").Output.Contains("hello-dataplane")), "TCP through the dataplane failed:\n" + agent.Output);

            // A deny policy written to the config directory cuts web off from db.
            long gen = node.Status().Generation;
            File.WriteAllText(Path.Combine(node.ConfigDir, "deny.yaml"), """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: db-deny-web, namespace: default}
                spec:
                  endpointSelector: {matchLabels: {app: db}}
                  ingressDeny:
                  - fromEndpoints: [{matchLabels: {app: web}}]
                """);
            Assert.True(Eventually(() => node.Status().Generation > gen), "deny policy not applied:\n" + agent.Output);
            var blocked = podman.Run("exec", web, "ping", "-c", "2", "-W", "1", dbIp);
            Assert.False(blocked.Ok, "ping passed a deny policy: " + blocked.Output);
            var drops = node.Status().DropsByReason;
            Assert.True(drops.TryGetValue("POLICY_DENY (181)", out ulong n) && n >= 2, "no POLICY_DENY drops: " + string.Join(", ", drops));

            // podman rm runs DEL: the endpoints, their ports and their addresses go.
            podman.Must("rm", "-f", "-t", "0", web, db);
            Assert.DoesNotContain(node.Status().Endpoints, e => e.Source == "cni");
            Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(node.IpamDir, node.NetworkName)), f => Regex.IsMatch(Path.GetFileName(f), @"^\d+\.\d+\.\d+\.\d+$"));
            Assert.DoesNotContain("lxc", Sh.Must("ip", "-n", node.DataplaneNs, "-o", "link"));
        }
        finally { output.WriteLine(agent.Output); }
    }

    /// <summary>
    /// A conflist as written in the wild, <c>ipam: {type: host-local, ranges, routes}</c>: podman runs our plugin,
    /// which delegates the addresses to Debian's host-local from CNI_PATH; the containers get host-local's range
    /// and talk through the dataplane; <c>podman rm</c> (DEL) frees them in host-local's store.
    /// </summary>
    [SkippableFact]
    public void HostLocalIpamConflist_AddressesFromTheStandardPlugin()
    {
        Requires.RootAnd("podman", "runc", "nsenter", "/bin/busybox", "/usr/lib/cni/host-local");
        string suffix = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        string a = $"hla-{suffix}", b = $"hlb-{suffix}";
        using var node = new CniNode();
        string store = Path.Combine(node.Dir, "host-local");
        var agent = node.StartAgent();
        using var podman = new Podman(node, $$$"""
            {"type": "host-local", "ranges": [[{"subnet": "198.18.100.0/24", "rangeStart": "198.18.100.60", "gateway": "198.18.100.1"}]],
             "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "{{{store}}}"}
            """);
        try
        {
            podman.Must("run", "-d", "--name", a, "--network", node.NetworkName, podman.Image, "sleep", "300");
            podman.Must("run", "-d", "--name", b, "--network", node.NetworkName, podman.Image, "sleep", "300");
            string aIp = podman.Ipv4Of(a), bIp = podman.Ipv4Of(b);
            output.WriteLine($"{a} {aIp}, {b} {bIp}");
            Assert.Equal(["198.18.100.60", "198.18.100.61"], new[] { aIp, bIp }.Order());
            Assert.True(File.Exists(Path.Combine(store, node.NetworkName, aIp)), "host-local holds the address");
            var ping = podman.Run("exec", a, "ping", "-c", "3", "-W", "2", bIp);
            Assert.True(ping.Ok, ping.Output + agent.Output);
            Assert.Contains("ttl=63", ping.Output);   // routed by the dataplane

            podman.Must("rm", "-f", "-t", "0", a, b);
            Assert.DoesNotContain(node.Status().Endpoints, e => e.Source == "cni");
            Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(store, node.NetworkName)), f => Regex.IsMatch(Path.GetFileName(f), @"^\d+\.\d+\.\d+\.\d+$"));
            Assert.DoesNotContain("lxc", Sh.Must("ip", "-n", node.DataplaneNs, "-o", "link"));
        }
        finally { output.WriteLine(agent.Output); }
    }

    private static bool Eventually(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (condition()) return true;
            Thread.Sleep(200);
        }
        return false;
    }

    /// <summary>podman with everything of its own under the node's directory; Dispose removes containers, image and storage.</summary>
    private sealed class Podman : IDisposable
    {
        private readonly CniNode _node;
        private readonly string _dir;
        public string Image { get; }

        /// <summary>
        /// What podman writes outside its --root/--runroot/--tmpdir whatever the flags: libcni's result cache and the
        /// image library's blob-info cache. Removed afterwards when this test created them.
        /// </summary>
        private static readonly string[] HostDirs = ["/var/lib/cni", "/var/lib/containers"];
        private readonly string[] _createdHere;

        /// <param name="ipam">The conflist's "ipam" object (null: the built-in IPAM in the node's directory).</param>
        public Podman(CniNode node, string? ipam = null)
        {
            _createdHere = HostDirs.Where(d => !Directory.Exists(d)).ToArray();
            _node = node;
            _dir = Path.Combine(node.Dir, "podman");
            Image = $"localhost/dpt-bb-{node.Suffix}:1";
            string plugins = Path.Combine(_dir, "plugins"), netd = Path.Combine(_dir, "net.d"), rootfs = Path.Combine(_dir, "rootfs");
            Directory.CreateDirectory(plugins);
            Directory.CreateDirectory(netd);
            // podman execs the plugin by its type name from cni_plugin_dirs.
            string dotnet = Environment.ProcessPath is { } p && Path.GetFileName(p) == "dotnet" ? p : "dotnet";
            File.WriteAllText(Path.Combine(plugins, "dataplane-cni"), $"#!/bin/sh\nexec {dotnet} {CniNode.Tool("dataplane-cni.dll")} \"$@\"\n");
            Sh.Must("chmod", "755", Path.Combine(plugins, "dataplane-cni"));
            File.WriteAllText(Path.Combine(_dir, "containers.conf"),
                $"[containers]\ndefault_ulimits = []\n[network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [\"{plugins}\", \"/usr/lib/cni\"]\n");
            string ipamJson = ipam ?? $$"""{"dataDir": "{{node.IpamDir}}"}""";
            File.WriteAllText(Path.Combine(netd, $"{node.NetworkName}.conflist"), $$$"""
                {"cniVersion": "1.0.0", "name": "{{{node.NetworkName}}}",
                 "plugins": [{"type": "dataplane-cni", "namespace": "default", "agentSocket": "{{{node.SocketPath}}}",
                              "dataDir": "{{{node.IpamDir}}}", "ipam": {{{ipamJson}}} }]}
                """);
            foreach (var d in new[] { "bin", "tmp" }) Directory.CreateDirectory(Path.Combine(rootfs, d));
            File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
            Sh.Must("chmod", "755", Path.Combine(rootfs, "bin", "busybox"));
            foreach (var c in new[] { "sh", "ip", "ping", "nc", "sleep", "cat" })
                File.CreateSymbolicLink(Path.Combine(rootfs, "bin", c), "busybox");
            Sh.Must("tar", "-C", rootfs, "-cf", Path.Combine(_dir, "rootfs.tar"), ".");
            Must("import", Path.Combine(_dir, "rootfs.tar"), Image);
        }

        public Sh.Result Run(params string[] args) =>
            Sh.Run(Slow, "env", [$"CONTAINERS_CONF={Path.Combine(_dir, "containers.conf")}", "nsenter", $"--net={CniNode.NetnsPath(_node.DataplaneNs)}",
                "podman", "--root", Path.Combine(_dir, "root"), "--runroot", Path.Combine(_dir, "runroot"), "--tmpdir", Path.Combine(_dir, "tmp"), "--runtime", "runc",
                "--cgroup-manager=cgroupfs", "--cni-config-dir", Path.Combine(_dir, "net.d"), .. args]);

        public string Must(params string[] args)
        {
            var r = Run(args);
            if (!r.Ok) throw new InvalidOperationException($"podman {string.Join(' ', args)} exited {r.ExitCode}: {r.Output}");
            return r.Output;
        }

        public string Ipv4Of(string container)
        {
            var m = Regex.Match(Must("exec", container, "ip", "-4", "-o", "addr", "show", "eth0"), @"inet (\d+\.\d+\.\d+\.\d+)/");
            Assert.True(m.Success, $"{container} has no IPv4 address");
            return m.Groups[1].Value;
        }

        public void Dispose()
        {
            Run("rm", "-a", "-f", "-t", "0");
            Run("rmi", "-a", "-f");
            // Storage mounts podman may leave behind, deepest first, so the directory can be deleted.
            foreach (var mount in File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(_dir, StringComparison.Ordinal)).OrderByDescending(m => m.Length))
                Sh.Run("umount", "-l", mount);
            foreach (var d in _createdHere)
            {
                try { Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
