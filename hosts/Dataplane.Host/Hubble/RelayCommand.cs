using System.CommandLine;
using System.Runtime.InteropServices;

namespace Dataplane.Host.Hubble;

/// <summary>
/// <c>relay --peer ADDR… [--listen-socket PATH] [--listen-address ADDR:PORT]</c>: Hubble Relay's role as a verb —
/// serves one Observer that merges the peers' (agents' <c>--hubble-socket</c> or <c>--hubble-listen-address</c>)
/// flows in time order, until SIGTERM or SIGINT. Point <c>observe --server</c> or the hubble CLI at it.
/// </summary>
public static class RelayCommand
{
    public static Command Create()
    {
        var peers = new Option<string[]>("--peer") { Description = "An agent's Observer: unix:///PATH or HOST:PORT (repeat for each node)", Arity = ArgumentArity.OneOrMore, Required = true };
        var socket = new Option<string>("--listen-socket") { Description = "Serve the merged Observer on this unix socket", DefaultValueFactory = _ => "" };
        var listen = new Option<string>("--listen-address") { Description = "Serve it on this TCP ADDRESS:PORT (Hubble Relay's port: 4245), without TLS", DefaultValueFactory = _ => "" };
        var command = new Command("relay", "Merge several agents' Hubble flows in time order behind one Observer API (the Hubble Relay role)")
        {
            peers, socket, listen,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(socket)!, address = parse.GetValue(listen)!;
            if (path.Length == 0 && address.Length == 0)
            {
                Console.Error.WriteLine("error: give --listen-socket PATH or --listen-address ADDR:PORT");
                return 2;
            }
            var list = parse.GetValue(peers)!;
            using var stop = new ManualResetEventSlim();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
            using var relay = new RelayService(list);
            HubbleServer server;
            try { server = HubbleServer.Start(relay, path.Length > 0 ? Path.GetFullPath(path) : "", address); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or System.Net.Sockets.SocketException)
            {
                Console.Error.WriteLine($"error: relay: {e.Message}");
                return 1;
            }
            using (server)
            {
                Console.WriteLine($"relay: serving {string.Join(", ", new[] { path.Length > 0 ? "unix:" + path : null, address.Length > 0 ? "tcp:" + address : null }.OfType<string>())} for {list.Length} peer(s): {string.Join(", ", list)}");
                Console.Out.Flush();
                stop.Wait();
            }
            return 0;
        });
        return command;
    }
}
