using System.Security.Cryptography;
using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Root;
using Coffre.Objects.Catalog;
using Coffre.Persistence;
using Coffre.Postgres.Kms;
using Coffre.Postgres.Objects;
using Coffre.Sqlite.Kms;
using Coffre.Sqlite.Objects;

namespace Coffre.Server.Hosting;

/// <summary>How far a store migration got: the part being copied, rows (or catalog entries) done and, when known, the total.</summary>
public readonly record struct StoreMigrationProgress(string Part, long Done, long? Total);

/// <summary>What a store migration copied: rows per key-database table (those the target held already included), the
/// catalog's counts, the placement states, and the audit chain as verified on arrival.</summary>
public sealed record StoreMigrationResult(string DeploymentId, string Target, bool Resumed, IReadOnlyDictionary<string, long> Rows,
    CatalogCopyProgress? Catalog, int PlacementStates, AuditVerification Audit, long AuditHead);

// `coffre store migrate --to postgresql://…` (docs/operations.md, "Moving a data directory to PostgreSQL").
public sealed partial class Deployment
{
    /// <summary>
    /// The rows of keys.db that move, under PostgreSQL's names (kms_ + the SQLite name; Kms/Migrations/0001 keeps the
    /// columns and their texts the same), each with its primary key first. Left out: <c>generation</c> and
    /// <c>access_key_generation</c> (set past the source's by <see cref="PostgresKeyImport.FinishAsync"/>) and
    /// <c>leases</c> (background work held by no one once the source is stopped).
    /// </summary>
    private static readonly CopiedTable[] KeyTables =
    [
        Table("meta", 1, "name", "value"),
        Table("keys", 1, "id", "name", "description", "created", "state", "state_before_destruction", "primary_version", "min_decryption_version",
            "rotation_period_seconds", "next_rotation", "destruction_date", "tags", "key_spec", "key_usage"),
        Table("key_versions", 2, "key_id", "version", "state", "created", "destroyed", "material"),
        Table("aliases", 1, "alias", "key_id", "created"),
        Table("access_keys", 1, "id", "description", "grants", "wrapped_secret", "created", "created_by", "updated", "revoked", "revision"),
        Table("audit_signing_key", 1, "id", "public_key", "wrapped_private_key"),
        Table("audit", 1, "seq", "time", "principal", "operation", "key_id", "key_name", "key_version", "context", "result", "prev_hash", "hash"),
        Table("audit_checkpoints", 1, "seq", "hash", "time", "signature"),
        Table("audit_checkpoint_chain", 1, "number", "seq", "hash", "previous", "time", "signature"),
    ];

    private static CopiedTable Table(string name, int keyColumns, params string[] columns) => new(name, "kms_" + name, columns, keyColumns);

    /// <summary>
    /// Moves the state of the SQLite data directory <paramref name="dataDirectory"/> into the PostgreSQL database of
    /// <paramref name="connectionString"/>: keys.db's rows as they are (keys, versions, aliases, access keys, the audit
    /// trail with its hashes and signed checkpoints), then the object catalog and the bucket placement states. Offline:
    /// holds <c>coffre.lock</c> exclusive (refused while a server or command uses the directory). Resumable: run again
    /// after an interruption, it copies what is missing; meanwhile the database refuses to be opened. The audit chain is
    /// verified on arrival and must end at the source's head. The SQLite files are left as they were.
    /// </summary>
    public static async Task<StoreMigrationResult> MigrateStoreAsync(string dataDirectory, string connectionString,
        IProgress<StoreMigrationProgress>? progress = null, CancellationToken ct = default)
    {
        using var directoryLock = DataDirectoryLock.ForStoreMigration(dataDirectory);
        var sealPath = Path.Combine(dataDirectory, SealFileName);
        var keysPath = Path.Combine(dataDirectory, SqliteKeyDatabase.FileName);
        if (!File.Exists(sealPath) || !File.Exists(keysPath))
            throw new KmsException(KmsError.NotInitialized, $"{dataDirectory} holds no SQLite deployment (no {SealFileName} or {SqliteKeyDatabase.FileName}): nothing to migrate.");
        var deploymentId = RootSealFile.Read(sealPath, SealOptions.Default).DeploymentId;

        // Opened through the key database first: it checks the deployment and brings an older keys.db to the current schema.
        using var source = SqliteKeyDatabase.Open(keysPath, deploymentId);
        await using var import = await PostgresKeyImport.BeginAsync(connectionString, deploymentId, ct).ConfigureAwait(false);
        var rows = new Dictionary<string, long>();
        await using (var sourceRows = SqliteKeyDatabase.OpenRows(keysPath))
        {
            foreach (var table in KeyTables)
            {
                var total = await TableCopy.CountAsync(sourceRows, table, ct).ConfigureAwait(false);
                progress?.Report(new(table.Source, 0, total));
                await TableCopy.RunAsync(sourceRows, import.Connection, table, new InlineProgress<long>(done => progress?.Report(new(table.Source, done, total))), ct)
                    .ConfigureAwait(false);
                rows[table.Source] = total;
            }
        }

        CatalogCopyProgress? catalog = null;
        var placementStates = 0;
        var catalogPath = Path.Combine(dataDirectory, ObjectServices.CatalogFileName);
        if (File.Exists(catalogPath))
        {
            var sourceCatalog = SqliteObjectCatalog.Open(catalogPath, TimeProvider.System);
            await using (sourceCatalog.ConfigureAwait(false))
            {
                var targetCatalog = await PostgresObjectCatalog.OpenAsync(connectionString, TimeProvider.System, ct).ConfigureAwait(false);
                await using (targetCatalog.ConfigureAwait(false))
                    catalog = await CatalogCopy.RunAsync(sourceCatalog, targetCatalog,
                        new InlineProgress<CatalogCopyProgress>(p => progress?.Report(new("catalog", p.Objects, null))), ct).ConfigureAwait(false);
            }
            var targetStates = await PostgresPlacementStateStore.OpenAsync(connectionString, ct).ConfigureAwait(false);
            await using (targetStates.ConfigureAwait(false))
                foreach (var state in await SqlitePlacementStateStore.Open(catalogPath).ListAsync(ct).ConfigureAwait(false))
                {
                    await targetStates.SaveAsync(state, ct).ConfigureAwait(false);
                    placementStates++;
                }
        }

        await import.FinishAsync(source.Keys.ReadGeneration(), source.AccessKeys.ReadGeneration(), ct).ConfigureAwait(false);

        // Re-verified on arrival: the whole chain from PostgreSQL's rows, ending where the source's ends.
        progress?.Report(new("verify", 0, rows["audit"]));
        using var target = PostgresKeyDatabase.Open(connectionString, deploymentId);
        var verification = AuditChain.Verify(target.Audit.ReadChain());
        var (sourceHead, targetHead) = (source.Audit.Head(), target.Audit.Head());
        if (!verification.Ok)
            throw new KmsException(KmsError.AuditUnavailable, $"The audit trail copied to the {import.Description} does not verify: {verification}. " +
                "Nothing was changed in the data directory; keep serving from it and report this.");
        if (sourceHead?.Sequence != targetHead?.Sequence || !CryptographicOperations.FixedTimeEquals(sourceHead?.Hash, targetHead?.Hash))
            throw new KmsException(KmsError.AuditUnavailable, $"The audit trail in the {import.Description} ends at record #{targetHead?.Sequence ?? 0}, " +
                $"the data directory's at #{sourceHead?.Sequence ?? 0}: the copy is incomplete. Run the migration again.");
        progress?.Report(new("verify", verification.RecordsChecked, rows["audit"]));
        return new StoreMigrationResult(deploymentId, import.Description, import.Resumed, rows, catalog, placementStates, verification, targetHead?.Sequence ?? 0);
    }

    /// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> would post to the thread pool, out of order).</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
