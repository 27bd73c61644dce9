using Etcdserverpb;
using Grpc.Core;

namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// etcd's user/password auth: <c>Authenticate</c> once for a token, then the token in every call's <c>token</c>
/// metadata (as etcd's own client does). A token etcd no longer accepts (expired, auth reset) is dropped by
/// <see cref="Invalidate"/> and the next call authenticates again; a refusal is kept in <see cref="Problem"/>.
/// </summary>
internal sealed class EtcdAuth
{
    private readonly string _user, _password;
    private readonly Func<Auth.AuthClient> _client;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _one = new(1, 1);
    private volatile string? _token;
    private volatile string? _problem;

    public EtcdAuth(string user, string password, Func<Auth.AuthClient> client, TimeSpan timeout)
    {
        _user = user;
        _password = password;
        _client = client;
        _timeout = timeout;
        Credentials = CallCredentials.FromInterceptor(AddTokenAsync);
    }

    /// <summary>Added to every channel of the connection.</summary>
    public CallCredentials Credentials { get; }
    public string? Problem => _problem;

    public void Invalidate() => _token = null;

    private async Task AddTokenAsync(AuthInterceptorContext context, Metadata metadata)
    {
        if (context.MethodName == "Authenticate") return;   // the call that gets the token carries none
        metadata.Add("token", _token ?? await AuthenticateAsync(context.CancellationToken).ConfigureAwait(false));
    }

    private async Task<string> AuthenticateAsync(CancellationToken ct)
    {
        await _one.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_token is { } t) return t;
            var resp = await _client().AuthenticateAsync(new AuthenticateRequest { Name = _user, Password = _password },
                deadline: DateTime.UtcNow + _timeout, cancellationToken: ct).ConfigureAwait(false);
            _problem = null;
            return _token = resp.Token;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.PermissionDenied)
        {
            _problem = $"etcd refused authentication as user {_user}: {e.Status.Detail}";
            // As a refusal of this client, so the connection reports it and retries like an outage.
            throw new RpcException(new Status(StatusCode.Unauthenticated, _problem));
        }
        finally { _one.Release(); }
    }
}
