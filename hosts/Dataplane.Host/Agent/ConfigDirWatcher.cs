namespace Dataplane.Host.Agent;

/// <summary>
/// Notices changes to the YAML files of the config directory: a FileSystemWatcher for promptness plus a
/// fingerprint (name, size, mtime of every file the loader reads) compared on every check, so an event the
/// watcher misses (overflow, a directory replaced by a ConfigMap symlink swap) is caught by the next poll.
/// </summary>
internal sealed class ConfigDirWatcher : IDisposable
{
    private readonly string _dir;
    private readonly FileSystemWatcher? _fsw;
    private string _fingerprint;

    public ConfigDirWatcher(string dir, Action changed)
    {
        _dir = dir;
        _fingerprint = Fingerprint(dir);
        try
        {
            _fsw = new FileSystemWatcher(dir) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
            _fsw.Changed += (_, _) => changed();
            _fsw.Created += (_, _) => changed();
            _fsw.Deleted += (_, _) => changed();
            _fsw.Renamed += (_, _) => changed();
            _fsw.Error += (_, _) => changed();
            _fsw.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // No inotify (limits reached): polling alone still sees every change, within a poll interval.
            _fsw?.Dispose();
            _fsw = null;
        }
    }

    /// <summary>True (once) when the files differ from the last time this returned true or from the start.</summary>
    public bool TakeChange()
    {
        var now = Fingerprint(_dir);
        if (now == _fingerprint) return false;
        _fingerprint = now;
        return true;
    }

    /// <summary>The files <see cref="Dataplane.Control.Config.ConfigLoader.LoadDirectory"/> reads, with size and mtime.</summary>
    private static string Fingerprint(string dir)
    {
        try
        {
            var files = new DirectoryInfo(dir).EnumerateFiles()
                .Where(f => !f.Name.StartsWith('.') && (f.Name.EndsWith(".yaml", StringComparison.Ordinal) || f.Name.EndsWith(".yml", StringComparison.Ordinal)))
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => $"{f.Name}\0{f.Length}\0{f.LastWriteTimeUtc.Ticks}");
            return string.Join('\n', files);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "\0unreadable";
        }
    }

    public void Dispose() => _fsw?.Dispose();
}
