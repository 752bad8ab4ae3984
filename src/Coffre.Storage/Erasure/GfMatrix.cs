namespace Coffre.Storage.Erasure;

/// <summary>
/// The coding matrices, built as zfec's <c>fec_new</c> builds them. Start from the n×k Vandermonde matrix whose row i
/// evaluates at the point 0 for row 0 and α^(i−1) for row i ≥ 1 (V[i][j] = point_i^j, with 0^0 = 1); then make it
/// systematic, E = V · (V's top k×k)^−1, so that E's top k rows are the identity (shares 0..k−1 are the data blocks) and
/// any k rows of E stay invertible. E is fixed by V, so any correct inversion gives zfec's matrix, byte for byte.
/// </summary>
internal static class GfMatrix
{
    /// <summary>The n×k systematic encoding matrix, row-major.</summary>
    public static byte[] Encoding(int k, int n)
    {
        var v = new byte[n * k];
        v[0] = 1; // the point 0: 0^0 = 1, 0^j = 0
        for (var i = 1; i < n; i++)
            for (var j = 0; j < k; j++)
                v[i * k + j] = Gf256.Power((i - 1) * j);
        var top = v.AsSpan(0, k * k).ToArray();
        Invert(top, k);
        var e = new byte[n * k];
        for (var i = 0; i < k; i++) e[i * k + i] = 1;
        for (var i = k; i < n; i++)
            for (var j = 0; j < k; j++)
            {
                byte acc = 0;
                for (var t = 0; t < k; t++) acc ^= Gf256.Mul(v[i * k + t], top[t * k + j]);
                e[i * k + j] = acc;
            }
        return e;
    }

    /// <summary>
    /// The k×k matrix that turns the shares <paramref name="indices"/> back into the k data blocks: the inverse of
    /// the rows of E those shares were made with.
    /// </summary>
    public static byte[] Decoding(byte[] encoding, int k, ReadOnlySpan<int> indices)
    {
        var m = new byte[k * k];
        for (var r = 0; r < k; r++) encoding.AsSpan(indices[r] * k, k).CopyTo(m.AsSpan(r * k, k));
        Invert(m, k);
        return m;
    }

    /// <summary>Gauss–Jordan inversion in place; the matrices given here are invertible by construction (distinct Vandermonde rows).</summary>
    public static void Invert(byte[] m, int k)
    {
        var inv = new byte[k * k];
        for (var i = 0; i < k; i++) inv[i * k + i] = 1;
        for (var col = 0; col < k; col++)
        {
            var pivot = col;
            while (pivot < k && m[pivot * k + col] == 0) pivot++;
            if (pivot == k) throw new InvalidOperationException("Singular matrix: the share indices are not distinct.");
            if (pivot != col)
            {
                SwapRows(m, k, pivot, col);
                SwapRows(inv, k, pivot, col);
            }
            var scale = Gf256.Inverse(m[col * k + col]);
            for (var j = 0; j < k; j++)
            {
                m[col * k + j] = Gf256.Mul(m[col * k + j], scale);
                inv[col * k + j] = Gf256.Mul(inv[col * k + j], scale);
            }
            for (var r = 0; r < k; r++)
            {
                var f = m[r * k + col];
                if (r == col || f == 0) continue;
                for (var j = 0; j < k; j++)
                {
                    m[r * k + j] ^= Gf256.Mul(f, m[col * k + j]);
                    inv[r * k + j] ^= Gf256.Mul(f, inv[col * k + j]);
                }
            }
        }
        inv.CopyTo(m, 0);
    }

    private static void SwapRows(byte[] m, int k, int a, int b)
    {
        for (var j = 0; j < k; j++) (m[a * k + j], m[b * k + j]) = (m[b * k + j], m[a * k + j]);
    }
}
