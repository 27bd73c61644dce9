using System.Net.Sockets;
using Dataplane.Core.Flows;

namespace Dataplane.Host.Ipfix;

/// <summary>
/// The IPFIX exporting process (RFC 7011 over UDP): counts the flow events the <see cref="Observe.FlowExporter"/>
/// drains from the workers' rings into a <see cref="FlowCache"/>, and sends what expires as data records to the
/// collector, with the templates at start and again every <see cref="TemplateRefreshSeconds"/> (UDP may lose them, and a
/// collector that restarts needs them again). Runs on the flow exporter's thread, never on the datapath; a send that
/// fails (no collector listening yet) is counted with its records, never thrown.
/// </summary>
public sealed class IpfixExporter : IDisposable
{
    public const int TemplateRefreshSeconds = 60;
    private const long ExpireEveryMillis = 250;

    private readonly IpfixOptions _options;
    private readonly FlowCache _cache;
    private readonly IpfixMessage _message;
    private readonly Socket _socket;
    private readonly Func<long> _clock;
    private readonly Action<FlowRecord> _export;
    private uint _sequence;
    /// <summary>When the templates were last sent; null = they are due with the next message.</summary>
    private long? _templatesSentAt;
    private long _expiredAt;
    private long _records, _messages, _sendErrors, _unsent;
    private volatile string? _lastError;
    /// <summary>A message has been begun and not sent yet.</summary>
    private bool _pending;

    /// <param name="clock">milliseconds since the Unix epoch (the wall clock unless a test drives it)</param>
    public IpfixExporter(IpfixOptions options, Func<long>? clock = null)
    {
        _options = options;
        _clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _cache = new FlowCache(options.ActiveTimeoutSeconds, options.IdleTimeoutSeconds, options.MaxFlows);
        _message = new IpfixMessage(options.ObservationDomainId, options.EnterpriseNumber);
        _socket = new Socket(options.Collector.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Connect(options.Collector);
        _export = Append;
    }

    public IpfixOptions Options => _options;

    /// <summary>Flows in the cache now.</summary>
    public int ActiveFlows => _cache.Count;

    public Api.IpfixStatus Status() => new(_options.Collector.ToString(), Interlocked.Read(ref _records), Interlocked.Read(ref _messages),
        Interlocked.Read(ref _unsent), Interlocked.Read(ref _sendErrors), _lastError);

    /// <summary>Counts one event from a worker's ring.</summary>
    public void Add(in FlowEvent e) => _cache.Add(e, _clock(), _export);

    /// <summary>Called after each drain: expires flows (at most every quarter second) and sends what is pending.</summary>
    public void Tick()
    {
        long now = _clock();
        if (now - _expiredAt >= ExpireEveryMillis)
        {
            _expiredAt = now;
            _cache.Expire(now, _export);
        }
        Send();
    }

    private void Append(FlowRecord r)
    {
        if (!_pending) Begin();
        if (_message.TryAdd(r)) return;
        Send();
        Begin();
        _message.TryAdd(r);
    }

    private void Begin()
    {
        long now = _clock();
        bool templates = _templatesSentAt is not { } sent || now - sent >= TemplateRefreshSeconds * 1000L;
        if (templates) _templatesSentAt = now;
        _message.Begin((uint)(now / 1000), _sequence, templates);
        _pending = true;
    }

    /// <summary>Sends the message being filled, if it holds records.</summary>
    private void Send()
    {
        if (!_pending) return;
        _pending = false;
        int records = _message.Records;
        if (records == 0) return;
        var datagram = _message.Finish();
        // The sequence counts every record sent before this message (RFC 7011 §3.1), lost or not.
        _sequence += (uint)records;
        try
        {
            _socket.Send(datagram);
            Interlocked.Add(ref _records, records);
            Interlocked.Increment(ref _messages);
        }
        catch (SocketException e)
        {
            // ECONNREFUSED after the collector's port answered unreachable; the templates go again with the next message.
            Interlocked.Increment(ref _sendErrors);
            Interlocked.Add(ref _unsent, records);
            _lastError = $"{DateTimeOffset.UtcNow:O} {e.Message}";
            _templatesSentAt = null;
        }
    }

    /// <summary>Exports every flow still in the cache (forced end) — the agent stops.</summary>
    public void Flush()
    {
        _cache.Flush(FlowEndReason.ForcedEnd, _export);
        Send();
    }

    public void Dispose() => _socket.Dispose();
}
