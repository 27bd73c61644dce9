namespace Dataplane.Cni.Cni;

/// <summary>
/// The CNI runtime's environment: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS ("K=V;K=V"),
/// CNI_PATH. Which are required depends on the command (VERSION needs none, DEL tolerates a missing netns).
/// </summary>
public sealed record CniEnv(string Command, string ContainerId, string Netns, string IfName, IReadOnlyDictionary<string, string> Args, string Path)
{
    public static CniEnv Read(Func<string, string?> env)
    {
        string command = env("CNI_COMMAND") ?? throw new CniException(CniCode.InvalidEnvironment, "CNI_COMMAND is not set");
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (env("CNI_ARGS") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new CniException(CniCode.InvalidEnvironment, $"CNI_ARGS: '{pair}' is not KEY=VALUE");
            args[pair[..eq]] = pair[(eq + 1)..];
        }
        return new CniEnv(command, env("CNI_CONTAINERID") ?? "", env("CNI_NETNS") ?? "", env("CNI_IFNAME") ?? "", args, env("CNI_PATH") ?? "");
    }

    /// <summary>
    /// Throws code 4 naming the first required variable that is empty or malformed. Runs before anything is
    /// created: the container id and interface name become file and interface names, the netns path is recorded.
    /// </summary>
    public void Require(bool netns)
    {
        if (ContainerId.Length == 0) throw new CniException(CniCode.InvalidEnvironment, "CNI_CONTAINERID is not set");
        if (!Identifiers.IsContainerId(ContainerId))
            throw new CniException(CniCode.InvalidEnvironment, $"CNI_CONTAINERID '{ContainerId}' is not a container id (an alphanumeric, then alphanumerics, '_', '.' or '-'; at most 256)");
        if (IfName.Length == 0) throw new CniException(CniCode.InvalidEnvironment, "CNI_IFNAME is not set");
        if (!Identifiers.IsInterfaceName(IfName))
            throw new CniException(CniCode.InvalidEnvironment, $"CNI_IFNAME '{IfName}' is not a valid interface name");
        if (netns && Netns.Length == 0) throw new CniException(CniCode.InvalidEnvironment, "CNI_NETNS is not set");
        // DEL may come without one (the sandbox is gone); a value given is checked all the same.
        if (Netns.Length > 0 && !Identifiers.IsNetnsPath(Netns))
            throw new CniException(CniCode.InvalidEnvironment, $"CNI_NETNS '{Netns}' is not an absolute path to a network namespace");
    }

    public string? Arg(string key) => Args.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
}
