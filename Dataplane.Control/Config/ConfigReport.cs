namespace Dataplane.Control.Config;

/// <summary>
/// What <see cref="ConfigLoader.Check"/> found in a directory: the files read, every document understood, every one
/// skipped as not ours, every error (file:line:column) — and the model when there was none.
/// </summary>
public sealed record ConfigReport(
    IReadOnlyList<string> Files,
    IReadOnlyList<(SourceLocation At, string Kind, string Name)> Read,
    IReadOnlyList<SkippedDocument> Skipped,
    IReadOnlyList<ConfigException> Errors,
    ConfigModel? Model)
{
    public bool Ok => Errors.Count == 0;

    /// <summary>One line per file (its documents by kind), one per skipped document and per error, then a summary.</summary>
    public void Print(TextWriter o)
    {
        foreach (var file in Files)
        {
            var kinds = Read.Where(r => r.At.File == file).GroupBy(r => r.Kind)
                .Select(g => g.Count() == 1 ? $"{g.Key} {g.First().Name}" : $"{g.Count()} × {g.Key}");
            o.WriteLine($"{file}: {string.Join(", ", kinds.DefaultIfEmpty("no documents read"))}");
        }
        foreach (var s in Skipped) o.WriteLine(s);
        foreach (var e in Errors) o.WriteLine($"{e.Location}: error: {e.Reason}");
        o.WriteLine($"validate: {Files.Count} file(s), {Read.Count} document(s) read, {Skipped.Count} skipped, {Errors.Count} error(s)"
                    + (Ok ? "" : "; nothing would be applied"));
    }
}
