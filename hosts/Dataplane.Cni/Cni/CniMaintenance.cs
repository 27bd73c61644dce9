using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Cni.Ipam;
using Dataplane.Cni.Link;

namespace Dataplane.Cni.Cni;

/// <summary>
/// The CNI 1.1 commands a runtime sends outside a pod's life: STATUS (can ADD succeed now?) and GC (forget
/// every attachment of this network the runtime no longer knows: its agent endpoint, veth pair, addresses, record).
/// </summary>
internal static class CniMaintenance
{
    /// <summary>CNI 1.1: the plugin cannot serve ADD now.</summary>
    public const int PluginNotAvailable = 50;

    /// <summary>Ready iff the agent answers (ADD registers every pod with it) and a delegated IPAM plugin is ready too.</summary>
    public static void Status(CniEnv env, NetConf conf, string stdin)
    {
        RequireVersion("STATUS", conf);
        using (var agent = new AgentClient(conf.AgentSocket))
        {
            try { agent.Node(); }
            catch (CniException e) when (e.Code == CniCode.TryAgainLater)
            {
                throw new CniException(PluginNotAvailable, $"plugin not available: {e.Message}", e.Details);
            }
        }
        if (conf.IpamType is { } type)
        {
            var ipam = new DelegatedIpam(type, env, stdin, conf);
            if (ipam.Speaks11()) ipam.Status();
        }
    }

    /// <summary>Removes every recorded or address-holding attachment not in <c>cni.dev/valid-attachments</c>.</summary>
    public static void Gc(CniEnv env, NetConf conf, string stdin)
    {
        RequireVersion("GC", conf);
        var valid = ValidAttachments(conf.Raw);
        var records = new AttachmentRecords(conf.AttachmentDir);
        var ipam = conf.IpamType is null ? new HostLocalIpam(conf.DataDir, conf.Name, CniPlugin.LockWait) : null;
        var delegated = conf.IpamType is { } type ? new DelegatedIpam(type, env, stdin, conf) : null;

        var stale = records.All().Select(r => (r.Attachment.ContainerId, r.Attachment.IfName))
            .Concat(ipam?.Owners() ?? [])
            .Where(a => !valid.Contains(a))
            .Distinct()
            .ToList();
        using var agent = new AgentClient(conf.AgentSocket);
        CniException? agentDown = null;
        foreach (var (id, ifName) in stale)
        {
            string hostIf = CniPlugin.HostIf(id, ifName);
            try { agent.Unregister(id, ifName); }
            catch (CniException e) when (e.Code == CniCode.TryAgainLater)
            {
                // As DEL: the addresses stay held while the agent may still route them; the next GC frees them.
                agentDown = e;
            }
            PodLink.Delete(null, ifName, hostIf);
            if (agentDown is not null) continue;
            if (ipam is not null) ipam.Release(id, ifName);
            else delegated!.Del(id, ifName);
            records.Remove(hostIf);
        }
        if (delegated is not null && delegated.Speaks11()) delegated.Gc();
        if (agentDown is not null) throw agentDown;
    }

    /// <summary>The runtime's list; libcni 1.2 also sends it as "cni.dev/attachments" (a name from a draft of the spec).</summary>
    private static HashSet<(string, string)> ValidAttachments(JsonObject raw)
    {
        var list = raw["cni.dev/valid-attachments"] ?? raw["cni.dev/attachments"]
            ?? throw new CniException(CniCode.InvalidNetworkConfig, "GC needs \"cni.dev/valid-attachments\" (the attachments to keep)");
        if (list is not JsonArray arr) throw new CniException(CniCode.InvalidNetworkConfig, "\"cni.dev/valid-attachments\" must be an array");
        var set = new HashSet<(string, string)>();
        foreach (var item in arr)
        {
            if (item is not JsonObject o || o["containerID"] is not JsonValue c || c.GetValueKind() != JsonValueKind.String
                || o["ifname"] is not JsonValue i || i.GetValueKind() != JsonValueKind.String)
                throw new CniException(CniCode.InvalidNetworkConfig, $"valid attachment {item?.ToJsonString()} needs string containerID and ifname");
            set.Add((c.GetValue<string>(), i.GetValue<string>()));
        }
        return set;
    }

    private static void RequireVersion(string command, NetConf conf)
    {
        if (!conf.IsAtLeast11)
            throw new CniException(CniCode.IncompatibleVersion, $"{command} is not defined for cniVersion {conf.CniVersion} (1.1.0 and later)");
    }
}
