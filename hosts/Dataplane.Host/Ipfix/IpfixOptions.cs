using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Dataplane.Host.Ipfix;

/// <summary>
/// Where and how the agent exports IPFIX (RFC 7011) flow records: the collector's UDP address, the cache's active and
/// idle timeouts, the observation domain and the Private Enterprise Number Cilium's identities are exported under.
/// </summary>
public sealed record IpfixOptions(IPEndPoint Collector, int ActiveTimeoutSeconds = IpfixOptions.DefaultActiveTimeout,
    int IdleTimeoutSeconds = IpfixOptions.DefaultIdleTimeout, uint ObservationDomainId = 1, uint EnterpriseNumber = IpfixOptions.DefaultEnterpriseNumber)
{
    /// <summary>IANA's port for IPFIX over UDP (RFC 7011 §10.3.5).</summary>
    public const int DefaultPort = 4739;
    public const int DefaultActiveTimeout = 60, DefaultIdleTimeout = 15;

    /// <summary>
    /// 32473: the Private Enterprise Number RFC 5612 reserves for documentation and examples. Neither Cilium nor this
    /// project holds a PEN of its own, so the identity elements are defined under this one unless the operator gives
    /// theirs (--ipfix-enterprise-number); the element numbers are listed in docs/observability.md.
    /// </summary>
    public const uint DefaultEnterpriseNumber = 32473;

    /// <summary>Flows kept in the cache at most; a new flow beyond this exports them all (flowEndReason lack of resources).</summary>
    public int MaxFlows { get; init; } = 65536;

    /// <summary>
    /// Parses the collector as HOST[:PORT], IP[:PORT] or [IPv6][:PORT] (port 4739 when left out); a name is resolved
    /// now, once. Throws <see cref="FormatException"/> with what is wrong.
    /// </summary>
    public static IPEndPoint ParseCollector(string value)
    {
        string v = value.Trim();
        if (v.StartsWith("udp://", StringComparison.OrdinalIgnoreCase)) v = v[6..];
        if (v.Length == 0) throw new FormatException("empty collector address (want HOST:PORT, e.g. 198.18.0.10:4739)");
        string host = v;
        int port = DefaultPort;
        if (v.StartsWith('['))
        {
            int close = v.IndexOf(']');
            if (close < 0) throw new FormatException($"'{value}': missing ']' after the IPv6 address");
            host = v[1..close];
            string rest = v[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') throw new FormatException($"'{value}': expected ':PORT' after ']'");
                port = Port(rest[1..], value);
            }
        }
        else if (v.Count(c => c == ':') == 1)
        {
            int colon = v.IndexOf(':');
            host = v[..colon];
            port = Port(v[(colon + 1)..], value);
        }
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        if (host.Length == 0 || Uri.CheckHostName(host) != UriHostNameType.Dns)
            throw new FormatException($"'{value}': '{host}' is neither an IP address nor a host name");
        try
        {
            var addresses = Dns.GetHostAddresses(host);
            if (addresses.Length == 0) throw new FormatException($"'{value}': '{host}' has no address");
            return new IPEndPoint(addresses[0], port);
        }
        catch (SocketException e) { throw new FormatException($"'{value}': cannot resolve '{host}': {e.Message}"); }
    }

    private static int Port(string s, string whole) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p is > 0 and <= 65535
            ? p : throw new FormatException($"'{whole}': '{s}' is not a port (1-65535)");

    /// <summary>A timeout in seconds: N, Ns, Nm (Go-style like Cilium's durations); throws <see cref="FormatException"/>.</summary>
    public static int ParseSeconds(string value, int min, int max)
    {
        string v = value.Trim();
        int scale = 1;
        if (v.EndsWith('s')) v = v[..^1];
        else if (v.EndsWith('m')) { v = v[..^1]; scale = 60; }
        if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || (long)n * scale < min || (long)n * scale > max)
            throw new FormatException($"'{value}': want seconds from {min} to {max} (e.g. 60, 60s, 1m)");
        return n * scale;
    }
}
