using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Cni.Ipam;

namespace Dataplane.Cni.Cni;

/// <summary>
/// The attachments this plugin made in one network, one small JSON file each (named by the host interface, unique
/// per container + interface): what CHECK compares against and what GC walks to find the stale ones. Written
/// whole to a temporary file and renamed, so a reader never sees half of one.
/// </summary>
internal sealed class AttachmentRecords(string dir)
{
    public sealed record Attachment(string ContainerId, string IfName, IReadOnlyList<Allocation> Ips, IReadOnlyList<PodRoute> Routes);

    public void Save(string hostIf, Attachment a)
    {
        var o = new JsonObject
        {
            ["containerID"] = a.ContainerId, ["ifname"] = a.IfName,
            ["ips"] = new JsonArray([.. a.Ips.Select(ip => (JsonNode)new JsonObject
            {
                ["address"] = $"{ip.Address}/{ip.Subnet.PrefixLength}", ["gateway"] = ip.Gateway?.ToString(),
            })]),
            ["routes"] = new JsonArray([.. a.Routes.Select(r => (JsonNode)new JsonObject { ["dst"] = r.Destination.ToString(), ["gw"] = r.Gateway?.ToString() })]),
        };
        try
        {
            Directory.CreateDirectory(dir);
            string tmp = Path.Combine(dir, $".{hostIf}.{Environment.ProcessId}");
            Dataplane.Linux.StateFile.WriteAllText(tmp, o.ToJsonString());
            File.Move(tmp, Path.Combine(dir, hostIf), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniCode.IoFailure, $"cannot record the attachment in {dir}", e.Message);
        }
    }

    public Attachment? Find(string hostIf) => Read(Path.Combine(dir, hostIf));

    public void Remove(string hostIf) => File.Delete(Path.Combine(dir, hostIf));

    /// <summary>Every recorded attachment with its host interface name; unreadable files are skipped.</summary>
    public IEnumerable<(string HostIf, Attachment Attachment)> All()
    {
        if (!Directory.Exists(dir)) yield break;
        foreach (var file in Directory.GetFiles(dir))
        {
            string name = Path.GetFileName(file);
            if (name.StartsWith('.')) continue;
            if (Read(file) is { } a) yield return (name, a);
        }
    }

    private static Attachment? Read(string file)
    {
        try
        {
            if (JsonNode.Parse(File.ReadAllText(file)) is not JsonObject o) return null;
            var (ips, routes) = DelegatedIpam.ParseResult(o);
            return new Attachment(o["containerID"]!.GetValue<string>(), o["ifname"]!.GetValue<string>(), ips, routes);
        }
        catch (Exception e) when (e is IOException or JsonException or CniException or InvalidOperationException or NullReferenceException)
        {
            return null;
        }
    }
}
