using System.Diagnostics;
using System.Security.Cryptography;

namespace Coffre.Storage.Placement;

/// <summary>
/// Checks that a backend is reachable and that its credentials allow what Coffre does: put, get and delete of a small
/// random blob under <see cref="BlobKeys.ProbePrefix"/>. Nothing else is touched.
/// </summary>
public static class BackendProbe
{
    public const int ProbeBytes = 1024;

    public static async Task<ProbeResult> RunAsync(string backend, IBlobStore store, CancellationToken ct = default)
    {
        var key = BlobKeys.ProbePrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var body = RandomNumberGenerator.GetBytes(ProbeBytes);
        var started = Stopwatch.GetTimestamp();
        var step = "put";
        try
        {
            using (var content = new MemoryStream(body, writable: false))
                await store.PutAsync(key, content, body.Length, new Dictionary<string, string> { ["coffre-probe"] = "1" }, ct).ConfigureAwait(false);
            step = "get";
            await using (var read = await store.GetAsync(key, 0, null, ct).ConfigureAwait(false))
            {
                var back = new MemoryStream();
                await read.Content.CopyToAsync(back, ct).ConfigureAwait(false);
                if (!back.ToArray().AsSpan().SequenceEqual(body))
                    return new ProbeResult(backend, false, step, "the blob read back differs from the one written", Elapsed(started));
            }
            step = "delete";
            await store.DeleteAsync(key, ct).ConfigureAwait(false);
            if (await store.HeadAsync(key, ct).ConfigureAwait(false) is not null)
                return new ProbeResult(backend, false, step, "the probe blob is still there after its delete", Elapsed(started));
            return new ProbeResult(backend, true, null, null, Elapsed(started));
        }
        catch (Exception e) when (e is BlobStoreException or IOException or UnauthorizedAccessException)
        {
            return new ProbeResult(backend, false, step, e.Message, Elapsed(started));
        }
    }

    private static double Elapsed(long started) => Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1);
}

/// <summary>The outcome of <see cref="BackendProbe.RunAsync"/>: which step failed (put, get, delete) and why.</summary>
public sealed record ProbeResult(string Backend, bool Ok, string? FailedStep, string? Error, double ElapsedMs);
