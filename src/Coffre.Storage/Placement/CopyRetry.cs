namespace Coffre.Storage.Placement;

/// <summary>
/// How `coffre migrate` and `coffre repair` retry the copy of one blob. A backend briefly unavailable, an I/O error,
/// or a body torn while the gateway rewrites it (s3rver serves a blob that a dual write or a repair replaces torn, and
/// the SDK then rejects its hash) passes within moments: the copy is tried <see cref="Attempts"/> times, with a growing
/// pause on the caller's clock, before the failure is reported. Any other failure (a blob missing everywhere, a length
/// the catalog disagrees with) is permanent and reported at once: retrying it only delays the report.
/// </summary>
public static class CopyRetry
{
    public const int Attempts = 4;

    /// <summary>The failures of a backend or a body that a later attempt may not meet.</summary>
    public static bool IsTransient(Exception e) => e is IOException or BlobStoreException { Error: BlobStoreError.Unavailable };

    /// <summary>Runs <paramref name="copy"/> until it succeeds, fails permanently (<paramref name="isTransient"/> false), or has been tried <see cref="Attempts"/> times.</summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> copy, Func<Exception, bool> isTransient, TimeProvider time, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await copy().ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < Attempts && !ct.IsCancellationRequested && isTransient(e))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt * attempt), time, ct).ConfigureAwait(false);
            }
        }
    }
}
