namespace Coffre.Crypto;

/// <summary>
/// Ciphertext did not authenticate: it was modified, truncated, extended, reordered, moved to
/// another context, or is being opened with the wrong key. No plaintext of the failing part was
/// released. The message names the part that failed and never contains key material.
/// </summary>
public sealed class AuthenticationFailedException : Exception
{
    /// <summary>The part of the ciphertext that failed to verify.</summary>
    public CiphertextPart Part { get; }

    /// <summary>Index of the failing segment when <see cref="Part"/> is <see cref="CiphertextPart.Segment"/>, else -1.</summary>
    public long Segment { get; }

    public AuthenticationFailedException(CiphertextPart part, long segment, string message)
        : base(message)
    {
        Part = part;
        Segment = segment;
    }

    public static AuthenticationFailedException AtHeader(string why) =>
        new(CiphertextPart.Header, -1, $"Authentication failed at the stream header: {why}. The ciphertext was modified, belongs to another object or context, or the data key is wrong.");

    public static AuthenticationFailedException AtSegment(long segment, string why) =>
        new(CiphertextPart.Segment, segment, $"Authentication failed at segment {segment}: {why}. The ciphertext was modified, truncated, extended or reordered.");

    public static AuthenticationFailedException AtWrappedKey(string why) =>
        new(CiphertextPart.WrappedKey, -1, $"Authentication failed for the wrapped data key: {why}. It was modified, belongs to another object, or the key version is wrong.");

    public static AuthenticationFailedException AtEnvelope(string why) =>
        new(CiphertextPart.Envelope, -1, $"Authentication failed at the file envelope: {why}.");
}

/// <summary>Which part of a Coffre ciphertext failed authentication.</summary>
public enum CiphertextPart
{
    Envelope,
    WrappedKey,
    Header,
    Segment,
    Length,
}
