using System.Text;
using System.Text.Json;
using Dataplane.Node.Api;

namespace Dataplane.Node.Endpoints;

/// <summary>
/// Endpoints registered through the API, one JSON file each under the state directory, so an agent restart
/// keeps serving the pods the CNI plugin attached. Writes go to a temporary file renamed over the old one,
/// so a crash never leaves half a registration behind.
/// </summary>
public sealed class EndpointStore
{
    private readonly string _dir;
    private readonly Dictionary<string, EndpointRegistration> _byKey = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public EndpointStore(string stateDir, TextWriter log)
    {
        _dir = Path.Combine(stateDir, "endpoints");
        Directory.CreateDirectory(_dir);
        foreach (var file in Directory.EnumerateFiles(_dir, "*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                var reg = JsonSerializer.Deserialize<EndpointRegistration>(File.ReadAllText(file));
                if (reg is null) throw new InvalidDataException("empty file");
                if (Validate(reg) is { } problem) throw new InvalidDataException(problem);
                _byKey[Key(reg.ContainerId, reg.IfName)] = reg;
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or IOException)
            {
                log.WriteLine($"agent: endpoint state {file} ignored: {e.Message}");
            }
        }
    }

    public IReadOnlyList<EndpointRegistration> All
    {
        get { lock (_lock) return [.. _byKey.Values.OrderBy(r => Key(r.ContainerId, r.IfName), StringComparer.Ordinal)]; }
    }

    public void Put(EndpointRegistration reg)
    {
        lock (_lock)
        {
            string key = Key(reg.ContainerId, reg.IfName);
            string path = FileOf(key), tmp = path + ".tmp";
            Dataplane.Linux.StateFile.WriteAllText(tmp, JsonSerializer.Serialize(reg));
            File.Move(tmp, path, overwrite: true);
            _byKey[key] = reg;
        }
    }

    /// <summary>Removes the registration; false when there was none (DEL is idempotent).</summary>
    public bool Remove(string containerId, string ifName)
    {
        lock (_lock)
        {
            string key = Key(containerId, ifName);
            File.Delete(FileOf(key));
            return _byKey.Remove(key);
        }
    }

    public EndpointRegistration? Find(string containerId, string ifName)
    {
        lock (_lock) return _byKey.GetValueOrDefault(Key(containerId, ifName));
    }

    /// <summary>The reason a registration cannot be accepted, or null.</summary>
    public static string? Validate(EndpointRegistration r)
    {
        if (string.IsNullOrWhiteSpace(r.ContainerId)) return "containerId is required";
        if (string.IsNullOrWhiteSpace(r.IfName)) return "ifName is required";
        if (string.IsNullOrWhiteSpace(r.Namespace) || string.IsNullOrWhiteSpace(r.Name)) return "namespace and name are required";
        if (string.IsNullOrWhiteSpace(r.HostInterface) || r.HostInterface.Length > 15) return "hostInterface must be 1-15 characters";
        if (r.Ips is null || r.Ips.Count == 0) return "at least one IP is required";
        foreach (var ip in r.Ips)
            if (!System.Net.IPAddress.TryParse(ip, out _)) return $"'{ip}' is not an IP address";
        if (r.Labels is null) return "labels must be an object";
        return null;
    }

    public static string Key(string containerId, string ifName) => $"{containerId}/{ifName}";

    // Container ids are hex in practice, but the name must be a safe file name whatever a runtime sends.
    private string FileOf(string key) =>
        Path.Combine(_dir, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32] + ".json");
}
