namespace Coffre.Storage.Erasure;

/// <summary>
/// A systematic k-of-n Reed–Solomon code over GF(2^8), share for share the code of zfec (Tahoe-LAFS): shares 0..k−1
/// are the k data blocks themselves, shares k..n−1 are parity, and any k distinct shares give the data back. Works on
/// one stripe at a time, held contiguously (block b at b·blockLength); it allocates nothing per byte. Immutable and
/// safe to share between threads.
/// </summary>
public sealed class ReedSolomon
{
    /// <summary>zfec's limit, and the most distinct evaluation points GF(2^8) has for this construction.</summary>
    public const int MaxShares = 256;

    /// <summary>Work on regions this long at a time, so the destination stays in the L1 cache across the k sources.</summary>
    private const int Chunk = 16 * 1024;

    private readonly byte[] _encoding;

    public ReedSolomon(int k, int n)
    {
        if (k < 1 || n < k || n > MaxShares)
            throw new ArgumentOutOfRangeException(nameof(n), $"A {k}-of-{n} code needs 1 <= k <= n <= {MaxShares}.");
        K = k;
        N = n;
        _encoding = GfMatrix.Encoding(k, n);
    }

    public int K { get; }
    public int N { get; }

    /// <summary>Row <paramref name="share"/> of the encoding matrix (its k coefficients), for tests and documentation.</summary>
    public ReadOnlySpan<byte> EncodingRow(int share) => _encoding.AsSpan(share * K, K);

    /// <summary>
    /// Computes the n−k parity blocks of a stripe: <paramref name="data"/> holds the k data blocks, <paramref name="parity"/>
    /// receives parity block p (share k + p) at p·blockLength.
    /// </summary>
    public void Encode(ReadOnlySpan<byte> data, int blockLength, Span<byte> parity)
    {
        if (data.Length != K * blockLength || parity.Length != (N - K) * blockLength)
            throw new ArgumentException($"A stripe of {K} blocks of {blockLength} bytes has {K * blockLength} data and {(N - K) * blockLength} parity bytes.");
        for (var start = 0; start < blockLength; start += Chunk)
        {
            var length = Math.Min(Chunk, blockLength - start);
            for (var p = 0; p < N - K; p++)
            {
                var dst = parity.Slice(p * blockLength + start, length);
                var row = EncodingRow(K + p);
                GfRegion.Mul(dst, data.Slice(start, length), row[0]);
                for (var j = 1; j < K; j++) GfRegion.MulAdd(dst, data.Slice(j * blockLength + start, length), row[j]);
            }
        }
    }

    /// <summary>
    /// The matrix that <see cref="Decode"/> needs for the shares <paramref name="indices"/> (k distinct share numbers,
    /// in the order their blocks will be given). Compute it once per set of shares, not once per stripe.
    /// </summary>
    public byte[] DecodingMatrix(ReadOnlySpan<int> indices)
    {
        if (indices.Length != K)
            throw new InsufficientSharesException($"{K} shares are needed to decode a {K}-of-{N} code, {indices.Length} were given.");
        var seen = new HashSet<int>();
        foreach (var i in indices)
            if (i < 0 || i >= N || !seen.Add(i))
                throw new ArgumentException($"Share numbers must be distinct and in 0..{N - 1}: [{string.Join(", ", indices.ToArray())}].", nameof(indices));
        return GfMatrix.Decoding(_encoding, K, indices);
    }

    /// <summary>
    /// Rebuilds a stripe's k data blocks into <paramref name="data"/> from k shares: block r of <paramref name="shares"/>
    /// is share <paramref name="indices"/>[r]; <paramref name="decoding"/> comes from <see cref="DecodingMatrix"/> for
    /// the same indices. Data blocks present among the shares are copied; only the missing ones are computed.
    /// </summary>
    public void Decode(ReadOnlySpan<int> indices, byte[] decoding, ReadOnlySpan<byte> shares, int blockLength, Span<byte> data)
    {
        if (shares.Length != K * blockLength || data.Length != K * blockLength || decoding.Length != K * K || indices.Length != K)
            throw new ArgumentException($"Decoding {K} blocks of {blockLength} bytes needs {K} shares of that length and a {K}x{K} matrix.");
        for (var j = 0; j < K; j++)
        {
            var dst = data.Slice(j * blockLength, blockLength);
            var present = indices.IndexOf(j);
            if (present >= 0)
            {
                shares.Slice(present * blockLength, blockLength).CopyTo(dst);
                continue;
            }
            for (var start = 0; start < blockLength; start += Chunk)
            {
                var length = Math.Min(Chunk, blockLength - start);
                var part = dst.Slice(start, length);
                GfRegion.Mul(part, shares.Slice(start, length), decoding[j * K]);
                for (var r = 1; r < K; r++) GfRegion.MulAdd(part, shares.Slice(r * blockLength + start, length), decoding[j * K + r]);
            }
        }
    }
}

/// <summary>Fewer than k good shares are available: the data cannot be rebuilt (and no guess is ever returned).</summary>
public sealed class InsufficientSharesException(string message) : Exception(message);
