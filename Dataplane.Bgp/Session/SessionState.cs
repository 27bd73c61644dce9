namespace Dataplane.Bgp.Session;

/// <summary>The states of RFC 4271 §8.2.2.</summary>
public enum SessionState
{
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}
