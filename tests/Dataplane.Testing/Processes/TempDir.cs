namespace Dataplane.Testing.Processes;

/// <summary>A fresh directory under /tmp with a unique name, deleted (with what is in it) on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "dataplane-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose() => Delete(Path);

    /// <summary>Removes a directory tree, quietly: clean-up must not hide the failure that came before it.</summary>
    public static void Delete(string path)
    {
        try { Directory.Delete(path, recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
