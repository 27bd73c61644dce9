namespace Dataplane.Bgp.Wire;

/// <summary>NOTIFICATION (RFC 4271 §4.5): the error that closes the session.</summary>
public static class NotificationMessage
{
    public static byte[] Encode(BgpError error)
    {
        var body = new byte[2 + error.Data.Length];
        body[0] = (byte)error.Code;
        body[1] = error.Subcode;
        error.Data.CopyTo(body, 2);
        return MessageFraming.Frame(MessageType.Notification, body);
    }

    /// <summary>Body length ≥ 2 is guaranteed by <see cref="MessageFraming"/>.</summary>
    public static BgpError Decode(ReadOnlySpan<byte> body) => new((ErrorCode)body[0], body[1], body[2..].ToArray());
}
