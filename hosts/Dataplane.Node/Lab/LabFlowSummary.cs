using System.Text.Json;

namespace Dataplane.Node.Lab;

/// <summary>
/// Groups the lab's flow events (Hubble JSON) into conversations: source pod → destination (pod, or the
/// address) and port, with how many packets each node forwarded and dropped and the drop reasons.
/// </summary>
public sealed class LabFlowSummary(LabTopology topology)
{
    private sealed class Row
    {
        public long Forwarded;
        public readonly SortedDictionary<string, long> Drops = new(StringComparer.Ordinal);
    }

    private readonly SortedDictionary<string, Row> _rows = new(StringComparer.Ordinal);

    public void Add(string node, string flowsFile)
    {
        if (!File.Exists(flowsFile)) return;
        using var reader = new StreamReader(new FileStream(flowsFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            if (!doc.RootElement.TryGetProperty("flow", out var f) || !f.TryGetProperty("IP", out var ip)) continue;
            string src = Who(f, "source", ip.GetProperty("source").GetString()!);
            string dst = Who(f, "destination", ip.GetProperty("destination").GetString()!);
            // Replies belong to the conversation their request opened; only pods start conversations here.
            if (f.TryGetProperty("is_reply", out var reply) && reply.GetBoolean()) continue;
            if (!src.StartsWith("shop/", StringComparison.Ordinal)) continue;
            string l4 = L4(f);
            var row = Get($"{src} → {dst}{l4}");
            if (f.GetProperty("verdict").GetString() == "DROPPED")
            {
                string why = $"{f.GetProperty("drop_reason_desc").GetString()} at {node} {Direction(f)}";
                row.Drops[why] = row.Drops.GetValueOrDefault(why) + 1;
            }
            else row.Forwarded++;
        }
    }

    private Row Get(string key) => _rows.TryGetValue(key, out var r) ? r : _rows[key] = new Row();

    public IEnumerable<string> Lines()
    {
        foreach (var (key, row) in _rows)
        {
            if (row.Drops.Count == 0) yield return $"allowed  {key}: {row.Forwarded} packets forwarded";
            else yield return $"dropped  {key}: {string.Join(", ", row.Drops.Select(d => $"{d.Value} × {d.Key}"))}" +
                (row.Forwarded > 0 ? $" ({row.Forwarded} forwarded by the source node first)" : "");
        }
    }

    private string Who(JsonElement f, string side, string ip)
    {
        if (f.TryGetProperty(side, out var ep) && ep.TryGetProperty("pod_name", out var pod))
            return $"{ep.GetProperty("namespace").GetString()}/{pod.GetString()}";
        // lab --mesh: the VM by its address, or by its identity's label where the gateway translated its address.
        if (topology.Mesh is not null)
        {
            if (ip == LabMeshNetwork.VmIp.ToString()) return $"shop/{LabMeshNetwork.VmName}";
            if (ep.ValueKind == JsonValueKind.Object && ep.TryGetProperty("labels", out var labels) && labels.ValueKind == JsonValueKind.Array
                && labels.EnumerateArray().Any(l => l.GetString() == "k8s:app=billing"))
                return $"shop/{LabMeshNetwork.VmName} (via the gateway)";
        }
        var p = topology.Pods.FirstOrDefault(x => x.Ip.ToString() == ip);
        return p is null ? ip : p.FullName;
    }

    private static string L4(JsonElement f)
    {
        if (!f.TryGetProperty("l4", out var l4)) return "";
        foreach (var proto in l4.EnumerateObject())
        {
            if (proto.Value.TryGetProperty("destination_port", out var port)) return $":{port.GetInt32()} {proto.Name}";
            return $" {proto.Name}";
        }
        return "";
    }

    private static string Direction(JsonElement f) =>
        f.TryGetProperty("traffic_direction", out var d) ? d.GetString()!.ToLowerInvariant() : "";
}
