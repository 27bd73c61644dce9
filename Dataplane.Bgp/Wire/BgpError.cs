namespace Dataplane.Bgp.Wire;

/// <summary>
/// What a NOTIFICATION carries: error code, subcode and data (RFC 4271 §4.5). Parsers return one of these
/// instead of throwing, so every malformed input maps to exactly the NOTIFICATION the session sends.
/// </summary>
public readonly record struct BgpError(ErrorCode Code, byte Subcode, byte[] Data)
{
    public BgpError(ErrorCode code, byte subcode) : this(code, subcode, []) { }

    public static BgpError Header(HeaderError sub, byte[]? data = null) => new(ErrorCode.MessageHeader, (byte)sub, data ?? []);
    public static BgpError Open(OpenError sub, byte[]? data = null) => new(ErrorCode.OpenMessage, (byte)sub, data ?? []);
    public static BgpError Update(UpdateError sub, byte[]? data = null) => new(ErrorCode.UpdateMessage, (byte)sub, data ?? []);

    public override string ToString() => $"{Code}/{Subcode} ({Data?.Length ?? 0} data bytes)";
}

/// <summary>NOTIFICATION error codes (RFC 4271 §4.5).</summary>
public enum ErrorCode : byte
{
    MessageHeader = 1,
    OpenMessage = 2,
    UpdateMessage = 3,
    HoldTimerExpired = 4,
    FiniteStateMachine = 5,
    Cease = 6,
    RouteRefresh = 7,
}

/// <summary>Subcodes of code 1 (RFC 4271 §6.1).</summary>
public enum HeaderError : byte
{
    ConnectionNotSynchronized = 1,
    BadMessageLength = 2,
    BadMessageType = 3,
}

/// <summary>Subcodes of code 2 (RFC 4271 §6.2, RFC 5492 for 7).</summary>
public enum OpenError : byte
{
    Unspecific = 0,
    UnsupportedVersionNumber = 1,
    BadPeerAs = 2,
    BadBgpIdentifier = 3,
    UnsupportedOptionalParameter = 4,
    UnacceptableHoldTime = 6,
    UnsupportedCapability = 7,
}

/// <summary>Subcodes of code 3 (RFC 4271 §6.3).</summary>
public enum UpdateError : byte
{
    MalformedAttributeList = 1,
    UnrecognizedWellKnownAttribute = 2,
    MissingWellKnownAttribute = 3,
    AttributeFlagsError = 4,
    AttributeLengthError = 5,
    InvalidOriginAttribute = 6,
    InvalidNextHopAttribute = 8,
    OptionalAttributeError = 9,
    InvalidNetworkField = 10,
    MalformedAsPath = 11,
}

/// <summary>Subcodes of code 5 (RFC 6608).</summary>
public enum FsmError : byte
{
    Unspecified = 0,
    UnexpectedMessageInOpenSent = 1,
    UnexpectedMessageInOpenConfirm = 2,
    UnexpectedMessageInEstablished = 3,
}

/// <summary>Subcodes of code 6 (RFC 4486).</summary>
public enum CeaseError : byte
{
    MaximumPrefixes = 1,
    AdministrativeShutdown = 2,
    PeerDeconfigured = 3,
    AdministrativeReset = 4,
    ConnectionRejected = 5,
    OtherConfigurationChange = 6,
    ConnectionCollisionResolution = 7,
    OutOfResources = 8,
}
