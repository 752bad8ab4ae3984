using Coffre.Crypto;

namespace Coffre.Objects;

/// <summary>Watches a ciphertext as it is produced: keeps its first <see cref="StreamFormat.HeaderSize"/> bytes (the stream header, for the catalog) and counts the rest.</summary>
internal sealed class HeaderCapture
{
    private readonly byte[] _header = new byte[StreamFormat.HeaderSize];

    public long Length { get; private set; }

    public byte[] Header => Length >= _header.Length ? _header : throw new InvalidOperationException("The stream header has not been read yet.");

    public void Observe(ReadOnlySpan<byte> chunk)
    {
        if (Length < _header.Length)
        {
            var take = (int)Math.Min(chunk.Length, _header.Length - Length);
            chunk[..take].CopyTo(_header.AsSpan((int)Length));
        }
        Length += chunk.Length;
    }
}
