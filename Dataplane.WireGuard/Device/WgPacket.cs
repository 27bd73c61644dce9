using Dataplane.WireGuard.Transport;

namespace Dataplane.WireGuard.Device;

/// <summary>What became of one packet handed to <see cref="WireGuardDevice.EncryptBatch"/> or <see cref="WireGuardDevice.DecryptBatch"/>.</summary>
public enum WgVerdict : byte
{
    /// <summary>Encrypt: a transport message ready to send to <see cref="WgPacket.Endpoint"/>.</summary>
    Send,
    /// <summary>Decrypt: an authenticated inner IP packet to deliver.</summary>
    Deliver,
    /// <summary>Consumed: a keepalive, or a handshake message queued for the control loop.</summary>
    Consumed,
    /// <summary>Encrypt: no session yet; a copy waits for the handshake it started.</summary>
    Staged,
    Drop,
}

/// <summary>
/// A packet in a batch: a buffer the backend owns (UMEM frame, socket buffer) and the window of it holding the
/// packet. Encrypting needs <see cref="MessageHeadroom"/> bytes before the plaintext and room for padding and
/// the tag after it; the transport header is written in front and the ciphertext in place.
/// </summary>
public unsafe struct WgPacket
{
    public const int MessageHeadroom = Messages.MessageLayout.TransportData.HeaderSize;
    /// <summary>Bytes after a plaintext that padding (≤ 15) and the tag (16) may take.</summary>
    public const int MessageTailroom = 15 + Messages.MessageLayout.TagSize;

    public byte* Buffer;
    public int Capacity;
    public int Offset;
    public int Length;
    /// <summary>Encrypt: where to send (filled in). Decrypt: where it came from (filled in by the receiver).</summary>
    public WgEndpoint Endpoint;
    public WgVerdict Verdict;
    public WgCounter DropReason;

    public readonly Span<byte> Data => new(Buffer + Offset, Length);
}
