namespace Dataplane.WireGuard.Messages;

/// <summary>
/// The four WireGuard messages (whitepaper §5.4.2–§5.4.6): the first byte is the type, three reserved zero
/// bytes follow, integers are little-endian. Offsets and sizes here are the only place the wire format is spelled.
/// </summary>
public static class MessageLayout
{
    public const byte TypeInitiation = 1, TypeResponse = 2, TypeCookieReply = 3, TypeTransport = 4;

    public const int KeySize = 32, TagSize = 16, MacSize = 16, TimestampSize = 12, CookieNonceSize = 24;

    /// <summary>Handshake initiation: type, sender, ephemeral, static (sealed), timestamp (sealed), mac1, mac2.</summary>
    public static class Initiation
    {
        public const int Sender = 4, Ephemeral = 8, Static = 40, Timestamp = 88, Mac1 = 116, Mac2 = 132, Size = 148;
    }

    /// <summary>Handshake response: type, sender, receiver, ephemeral, empty (sealed), mac1, mac2.</summary>
    public static class Response
    {
        public const int Sender = 4, Receiver = 8, Ephemeral = 12, Empty = 44, Mac1 = 60, Mac2 = 76, Size = 92;
    }

    /// <summary>Cookie reply: type, receiver, nonce, cookie (XAEAD-sealed).</summary>
    public static class CookieReply
    {
        public const int Receiver = 4, Nonce = 8, Cookie = 32, Size = 64;
    }

    /// <summary>Transport data: type, receiver, counter, then the padded packet sealed with a 16-byte tag.</summary>
    public static class TransportData
    {
        public const int Receiver = 4, Counter = 8, HeaderSize = 16, MinSize = HeaderSize + TagSize;
        /// <summary>Plaintext is zero-padded to a multiple of this (§5.4.6).</summary>
        public const int PaddingMultiple = 16;
    }

    /// <summary>The length a plaintext of <paramref name="plainLength"/> bytes has on the wire as a transport message.</summary>
    public static int TransportSize(int plainLength) => TransportData.HeaderSize + PaddedLength(plainLength) + TagSize;

    public static int PaddedLength(int plainLength) => (plainLength + TransportData.PaddingMultiple - 1) & ~(TransportData.PaddingMultiple - 1);
}
