namespace Dataplane.Cni.Cni;

/// <summary>The error codes of the CNI specification (1.0.0, "Error" section); 100+ are plugin-defined.</summary>
public static class CniCode
{
    public const int IncompatibleVersion = 1;
    public const int UnsupportedField = 2;
    public const int ContainerUnknown = 3;
    public const int InvalidEnvironment = 4;
    public const int IoFailure = 5;
    public const int DecodeFailure = 6;
    public const int InvalidNetworkConfig = 7;
    public const int TryAgainLater = 11;
    /// <summary>The pod CIDR has no free address (plugin-defined).</summary>
    public const int AddressesExhausted = 100;
    public const int Other = 999;
}

/// <summary>A failure the plugin reports as CNI error JSON on stdout (and a non-zero exit).</summary>
public sealed class CniException(int code, string msg, string? details = null) : Exception(msg)
{
    public int Code { get; } = code;
    public string? Details { get; } = details;
}
