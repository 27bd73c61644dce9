namespace Dataplane.Control.Config;

/// <summary>
/// Where a config value came from: file plus 1-based line and column, so every error and every compiled
/// object can be traced back to the YAML a user wrote. Line 0 means "the configuration as a whole" (used
/// for errors such as a missing DataplaneNode that have no node to point at).
/// </summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}
