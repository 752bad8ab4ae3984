using Coffre.Kms;
using Coffre.Kms.Store;
using Coffre.Objects;
using Coffre.Objects.Catalog;

namespace Coffre.Server.Observability;

/// <summary>
/// The databases' lines of /healthz: the key database (keys, audit trail, access keys) and the object catalog, each
/// reached with a trivial read bounded by <see cref="Timeout"/>. Either one unreachable makes the instance unable to
/// answer most requests, so /healthz then answers 503 and a load balancer sends its traffic elsewhere.
/// </summary>
public sealed class DatabaseHealth(IKeyDatabase keys, IObjectCatalog catalog)
{
    /// <summary>Longer than a healthy round trip on a loaded host, shorter than a load balancer's usual health-check timeout.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>One line per database ("database keys reachable", "database catalog unreachable"), and whether all are reachable.</summary>
    public async Task<(IReadOnlyList<string> Lines, bool Reachable)> CheckAsync(CancellationToken ct)
    {
        var keysUp = await ReachableAsync(t => keys.PingAsync(t), ct).ConfigureAwait(false);
        // "." is never a bucket name: the read reaches the database and finds nothing.
        var catalogUp = await ReachableAsync(t => catalog.GetBucketAsync(".", t), ct).ConfigureAwait(false);
        return ([Line("keys", keysUp), Line("catalog", catalogUp)], keysUp && catalogUp);
    }

    private static string Line(string database, bool up) => $"database {database} {(up ? "reachable" : "unreachable")}";

    private static async Task<bool> ReachableAsync(Func<CancellationToken, Task> read, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(Timeout);
        try
        {
            await read(bounded.Token).ConfigureAwait(false);
            return true;
        }
        catch (KmsException e) when (e.Error == KmsError.StoreUnavailable)
        {
            return false;
        }
        catch (ObjectStoreException e) when (e.Error == ObjectError.CatalogUnavailable)
        {
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
