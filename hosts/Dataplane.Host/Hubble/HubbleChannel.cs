using System.Net.Sockets;
using Grpc.Net.Client;

namespace Dataplane.Host.Hubble;

/// <summary>
/// A gRPC channel to an Observer, addressed as hubble's <c>--server</c> is: <c>unix:///path/hubble.sock</c> (or a
/// bare path), or <c>HOST:PORT</c> / <c>http://HOST:PORT</c> for TCP without TLS.
/// </summary>
public static class HubbleChannel
{
    public static GrpcChannel Open(string server)
    {
        string? path = server.StartsWith("unix://", StringComparison.Ordinal) ? server["unix://".Length..]
            : server.StartsWith('/') ? server : null;
        if (path is not null)
        {
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancel) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancel);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        }
        string url = server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server;
        return GrpcChannel.ForAddress(url);
    }
}
