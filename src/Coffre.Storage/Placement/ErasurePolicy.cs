using Coffre.Storage.Erasure;

namespace Coffre.Storage.Placement;

/// <summary>
/// Erasure coding instead of full copies (<c>Placement:Erasure</c>): every blob is cut into <see cref="N"/> shares on
/// N distinct backends, any <see cref="K"/> of which rebuild it, so storage costs N/K and no backend holds a whole
/// ciphertext. A write is acknowledged once <see cref="WriteQuorum"/> shares are durable; repair writes the rest.
/// </summary>
public sealed class ErasurePolicy
{
    /// <summary>Bytes per block: a stripe holds K of them, and a range read fetches whole stripes.</summary>
    public const int DefaultBlockLength = 64 * 1024;

    public int K { get; set; }

    public int N { get; set; }

    /// <summary>Shares that must be durable before a write is acknowledged; null: K + 1 (one backend may then fail before repair).</summary>
    public int? WriteQuorum { get; set; }

    public int Quorum => WriteQuorum ?? K + 1;

    /// <summary>Every rule the settings break, each naming <paramref name="scope"/>; empty when they are usable.</summary>
    public IEnumerable<string> Problems(string scope, PlacementPolicy policy)
    {
        if (K < 1 || K >= N || N > byte.MaxValue)
            yield return $"{scope}: Erasure K={K}, N={N}: needs 1 <= K < N <= {byte.MaxValue}.";
        else if (Quorum < K + 1 || Quorum > N)
            yield return $"{scope}: Erasure WriteQuorum={Quorum}: must lie in {K + 1}..{N} (K+1 leaves a write safe with one share lost; N waits for every share).";
        if (policy.Copies > 1)
            yield return $"{scope}: Copies={policy.Copies} and Erasure are both set: erasure coding replaces copies; set one of them.";
    }

    /// <summary>The codec of these settings (call once they have no problems).</summary>
    public ReedSolomon Codec() => new(K, N);
}
