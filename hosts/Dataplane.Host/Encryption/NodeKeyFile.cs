using Dataplane.WireGuard.Crypto;

namespace Dataplane.Host.Encryption;

/// <summary>
/// The node's WireGuard private key, kept in its state directory (mode 0600, like Cilium's key file): read when
/// present, generated and written (atomically, never readable by others) on the first start with encryption on.
/// A key file that is unreadable, malformed or readable by others is refused, never silently replaced.
/// </summary>
public static class NodeKeyFile
{
    public const string FileName = "wireguard.key";

    public static string PathIn(string stateDir) => Path.Combine(stateDir, FileName);

    public static WgKey LoadOrCreate(string stateDir)
    {
        string path = PathIn(stateDir);
        if (File.Exists(path))
        {
            if (OperatingSystem.IsLinux() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
                throw new InvalidOperationException($"{path}: the WireGuard private key is readable or writable by others (chmod 600 it)");
            var text = File.ReadAllText(path).Trim();
            return WgKey.TryParse(text, out var key) && !key.IsZero
                ? key
                : throw new InvalidOperationException($"{path}: not a base64 WireGuard private key");
        }
        Directory.CreateDirectory(stateDir);
        var created = WgKey.GeneratePrivate();
        string tmp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (OperatingSystem.IsLinux()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var f = new FileStream(tmp, options))
        using (var w = new StreamWriter(f))
            w.WriteLine(created.ToBase64());
        File.Move(tmp, path, overwrite: false);
        return created;
    }
}
