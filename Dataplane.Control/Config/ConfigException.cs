namespace Dataplane.Control.Config;

/// <summary>
/// The single way configuration is rejected. Loading is all-or-nothing: if this is thrown, no part of the
/// configuration was applied. The message uses the compiler-style "file:line:column: reason" format so
/// editors and CI logs can jump to it.
/// </summary>
public sealed class ConfigException : Exception
{
    public SourceLocation Location { get; }
    public string Reason { get; }

    public ConfigException(SourceLocation at, string reason)
        : base($"{at}: {reason}")
    {
        Location = at;
        Reason = reason;
    }
}
