using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataplane.Core.L7;
using Dataplane.Core.Snapshot;
using Dataplane.Host.L7;

namespace Dataplane.Node.L7;

/// <summary>
/// The node's DNS proxy (Cilium's DNS proxy for <c>rules.dns</c>): the datapath redirects the lookups a policy entry
/// with DNS rules allows to this UDP socket, in the proxy's namespace; for each query it finds, by the client's
/// address and port, the original server and the rules (<see cref="ProxyRedirects"/>), answers a name no rule allows
/// with <c>REFUSED</c> (Cilium's default <c>--tofqdns-dns-reject-response-code</c>) and forwards an allowed one to the
/// original server from a socket registered with the client's identity, relaying the answer. Every query is handled
/// on its own task with a 5 s bound on the server's answer. The answer to an allowed lookup is handed to
/// <c>learned</c> (toFQDNs: its addresses become CIDR identities) and relayed only once that returned — the policy
/// that allows the addresses is in force before the client can use them, as Cilium's proxy waits for the endpoints'
/// regeneration before it answers.
/// </summary>
public sealed class DnsProxy : IDisposable
{
    public const ushort ListenPort = 15053;
    private const int RcodeRefused = 5;
    private static readonly TimeSpan UpstreamTimeout = TimeSpan.FromSeconds(5);

    private readonly ProxyLink _link;
    private readonly L7Shared _shared;
    private readonly Func<DatapathSnapshot?> _snapshot;
    private readonly Func<DnsAnswer, Task>? _learned;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <summary>Queries on flows the datapath did not record, refused, forwarded, malformed; answers toFQDNs could not read.</summary>
    public long Unknown, Refused, Forwarded, Malformed, UnreadableAnswers;

    public DnsProxy(ProxyLink link, L7Shared shared, Func<DatapathSnapshot?> snapshot, Func<DnsAnswer, Task>? learned = null)
    {
        _link = link; _shared = shared; _snapshot = snapshot; _learned = learned;
        _socket = link.NewUdpSocket();
        _socket.Bind(new IPEndPoint(link.Address, ListenPort));
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { continue; }
            var query = buffer.AsSpan(0, r.ReceivedBytes).ToArray();
            _ = HandleAsync(query, (IPEndPoint)r.RemoteEndPoint);
        }
    }

    private async Task HandleAsync(byte[] query, IPEndPoint client)
    {
        try
        {
            var snapshot = _snapshot();
            if (snapshot is null || !_shared.Tables.TryFind(Core.Routing.RoutePrefix.ToUInt32(client.Address.MapToIPv4()), (ushort)client.Port, out var info))
            {
                Interlocked.Increment(ref Unknown);
                return;
            }
            if (!TryQuestion(query, out string name, out int questionEnd))
            {
                Interlocked.Increment(ref Malformed);
                return;
            }
            var rules = snapshot.Policy.Rules;
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            var from = new L7Proxy.Client(Core.Routing.RoutePrefix.ToUInt32(client.Address.MapToIPv4()), (ushort)client.Port);
            if (!Allows(rules, info.EgressRule, name) || !Allows(rules, info.IngressRule, name))
            {
                Interlocked.Increment(ref Refused);
                L7Proxy.Publish(_shared, info, from, Core.Flows.L7RecordType.Request, false, UdpFlow(name, 0, 0));
                await _socket.SendToAsync(RefusedAnswer(query, questionEnd), client);
                L7Proxy.Publish(_shared, info, from, Core.Flows.L7RecordType.Response, false, UdpFlow(name, RcodeRefused, Elapsed(started)));
                return;
            }
            L7Proxy.Publish(_shared, info, from, Core.Flows.L7RecordType.Request, true, UdpFlow(name, 0, 0));
            var answer = await ForwardAsync(query, info);
            if (answer is null) return;
            if (_learned is not null)
            {
                if (DnsAnswer.TryParse(answer, out var parsed)) { if (parsed.Rcode == 0) await _learned(parsed); }
                else Interlocked.Increment(ref UnreadableAnswers);
            }
            Interlocked.Increment(ref Forwarded);
            await _socket.SendToAsync(answer, client);
            L7Proxy.Publish(_shared, info, from, Core.Flows.L7RecordType.Response, true,
                UdpFlow(name, answer.Length > 3 ? answer[3] & 0xF : 0, Elapsed(started)));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { /* the client retries, as with a lost datagram */ }
    }

    private static Core.Flows.L7Flow UdpFlow(string name, int rcode, ulong latency) =>
        new(Core.Flows.L7RecordType.Request, latency, "", "", "DNS", rcode) { DnsQuery = name };

    private static ulong Elapsed(long started) => (ulong)System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks * 100;

    private static bool Allows(Core.Policy.PolicyRuleRef?[] rules, uint rule, string name) =>
        rule == 0 || rule >= (uint)rules.Length || rules[rule]?.Dns is not { } dns || dns.Allows(name);

    /// <summary>The query sent on to the original server from a socket that carries the client's identity.</summary>
    private async Task<byte[]?> ForwardAsync(byte[] query, RedirectInfo info)
    {
        using var upstream = _link.NewUdpSocket();
        upstream.Bind(new IPEndPoint(_link.Address, 0));
        var port = (ushort)((IPEndPoint)upstream.LocalEndPoint!).Port;
        _shared.Tables.SetUpstream(port, info.SrcIdentity);
        try
        {
            var server = new IPEndPoint(new IPAddress(BinaryPrimitives.ReverseEndianness((uint)info.OrigDst)), info.OrigPort);
            await upstream.SendToAsync(query, server);
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(UpstreamTimeout);
            var r = await upstream.ReceiveFromAsync(buffer, SocketFlags.None, server, timeout.Token);
            return buffer.AsSpan(0, r.ReceivedBytes).ToArray();
        }
        catch (OperationCanceledException) { return null; }
        finally { _shared.Tables.SetUpstream(port, 0); }
    }

    /// <summary>The first question's name (RFC 1035 4.1.2; no compression in a question) and where the question ends.</summary>
    public static bool TryQuestion(ReadOnlySpan<byte> m, out string name, out int end)
    {
        name = ""; end = 0;
        if (m.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(m[4..]) == 0 || (m[2] & 0x80) != 0) return false;
        var sb = new StringBuilder();
        int i = 12;
        while (true)
        {
            if (i >= m.Length) return false;
            int len = m[i++];
            if (len == 0) break;
            if (len > 63 || i + len > m.Length) return false;
            sb.Append(Encoding.ASCII.GetString(m.Slice(i, len))).Append('.');
            i += len;
        }
        if (i + 4 > m.Length) return false;
        name = sb.Length == 0 ? "." : sb.ToString();
        end = i + 4;
        return true;
    }

    /// <summary>The query turned into its REFUSED answer: header (QR, RA set, same id, opcode and RD) and question only.</summary>
    public static byte[] RefusedAnswer(ReadOnlySpan<byte> query, int questionEnd)
    {
        var a = query[..questionEnd].ToArray();
        a[2] = (byte)(0x80 | (a[2] & 0x79));     // QR; keep opcode and RD; clear AA, TC
        a[3] = (byte)(0x80 | RcodeRefused);     // RA, RCODE
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(4), 1);
        a.AsSpan(6, 6).Clear();
        return a;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
