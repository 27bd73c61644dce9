namespace Dataplane.Linux;

/// <summary>
/// Files that hold a node's state — IPAM leases, the agent's endpoint registrations, the plugin's attachment
/// records — name every workload and its addresses: they are created 0600 (owner only), never world-readable.
/// </summary>
public static class StateFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> (<paramref name="mode"/> CreateNew or Create), mode 0600 when it is new.</summary>
    public static FileStream Create(string path, FileMode mode = FileMode.Create)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        return new FileStream(path, options);
    }

    /// <summary>File.WriteAllText for a state file: UTF-8, mode 0600 when created.</summary>
    public static void WriteAllText(string path, string text)
    {
        using var f = Create(path);
        using var w = new StreamWriter(f);
        w.Write(text);
    }
}
