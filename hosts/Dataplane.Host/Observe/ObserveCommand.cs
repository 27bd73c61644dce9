using System.CommandLine;
using Dataplane.Host.Api;
using Dataplane.Host.Hubble;
using Grpc.Core;

namespace Dataplane.Host.Observe;

/// <summary>
/// <c>observe</c>: hubble observe's flags (<see cref="ObserveFlags"/>) against an Observer over gRPC — the one named by
/// <c>--server</c> (a relay, another node), else the local agent's <c>--hubble-socket</c> found through its API —
/// or against a file of hubble JSON lines (<c>--input-file</c>, or the agent's <c>--flows-file</c> when it serves no
/// Observer). Both paths print the same generated messages through <see cref="FlowPrinter"/>.
/// </summary>
public static class ObserveCommand
{
    public static Command Create()
    {
        var flags = new ObserveFlags();
        var server = new Option<string?>("--server") { Description = "The Observer to ask: unix:///PATH or HOST:PORT (an agent's --hubble-socket or --hubble-listen-address, or a relay); default: the local agent's" };
        var socket = new Option<string>("--socket") { Description = "The agent's API socket (to find its Observer or its flow file)", DefaultValueFactory = _ => AgentSocket.DefaultPath };
        var inputFile = new Option<string?>("--input-file") { Description = "Read flows from this file of hubble JSON lines (replay --flows, run --flows-file); '-' for stdin" };
        var command = new Command("observe", "Show flows as hubble observe does, from the agent's Observer API (or a relay, or a flow file), with hubble's filters");
        flags.AddTo(command);
        command.Options.Add(server);
        command.Options.Add(socket);
        command.Options.Add(inputFile);
        command.SetAction(parse =>
        {
            string? file = parse.GetValue(inputFile);
            string? target = parse.GetValue(server);
            if (file is null && target is null)
            {
                string api = parse.GetValue(socket)!;
                var status = AgentSocket.FetchStatus(api, TimeSpan.FromSeconds(10), out _, out string? problem);
                if (status is null)
                {
                    Console.Error.WriteLine($"error: {problem}");
                    return 1;
                }
                target = status.HubbleSocket is { Length: > 0 } hs ? "unix://" + hs : null;
                file = target is null ? status.FlowsFile : null;
                if (target is null && file is null)
                {
                    Console.Error.WriteLine($"error: the agent on {api} serves no Observer and exports no flows (start it with run --hubble-socket PATH)");
                    return 1;
                }
            }
            Observer.GetFlowsRequest request;
            FlowQuery query;
            try
            {
                request = flags.Request(parse, DateTimeOffset.UtcNow, lastByDefault: target is not null);
                query = FlowQuery.From(request);
            }
            catch (Exception e) when (e is ArgumentException or RpcException)
            {
                Console.Error.WriteLine($"error: {(e is RpcException r ? r.Status.Detail : e.Message)}");
                return 2;
            }
            var printer = new FlowPrinter(Console.Out, flags.Output(parse));
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            return target is not null
                ? Stream(target, request, printer, cts.Token)
                : FromFile(file!, query, printer, request.Follow, cts.Token);
        });
        return command;
    }

    /// <summary>GetFlows against <paramref name="server"/>, each answer printed as it comes; 0, or 1 with the reason.</summary>
    public static int Stream(string server, Observer.GetFlowsRequest request, FlowPrinter printer, CancellationToken stop)
    {
        using var channel = HubbleChannel.Open(server);
        var client = new Observer.Observer.ObserverClient(channel);
        try
        {
            using var call = client.GetFlows(request, cancellationToken: stop);
            var stream = call.ResponseStream;
            while (stream.MoveNext(stop).GetAwaiter().GetResult())
            {
                printer.Print(stream.Current);
                if (!request.Follow) continue;
                Console.Out.Flush();
            }
            return 0;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (RpcException e)
        {
            Console.Error.WriteLine($"error: {server}: {e.Status.StatusCode}: {e.Status.Detail}");
            return 1;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static int FromFile(string path, FlowQuery query, FlowPrinter printer, bool follow, CancellationToken stop)
    {
        try
        {
            using TextReader input = path == "-" ? Console.In : new TailReader(path);
            printer.Copy(input, Console.Error, query, follow, stop);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
