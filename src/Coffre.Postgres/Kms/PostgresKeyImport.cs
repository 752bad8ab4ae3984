using System.Data.Common;
using Coffre.Kms;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// The PostgreSQL side of `coffre store migrate`: claims the database for the deployment with a mark saying an import
/// is under way (every <see cref="PostgresKeyDatabase.Open"/> refuses the database while it is there, so no server runs
/// on half the keys), lends the connection the rows are copied through, and at the end sets what SQLite keeps
/// implicitly (the audit chain's head, the generations) and removes the mark, in one transaction.
/// </summary>
public sealed class PostgresKeyImport : IAsyncDisposable
{
    /// <summary>The kms_meta row present while an import is unfinished.</summary>
    internal const string Mark = "store_migration";

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlConnection _connection;

    private PostgresKeyImport(NpgsqlDataSource dataSource, NpgsqlConnection connection, bool resumed)
    {
        _dataSource = dataSource;
        _connection = connection;
        Resumed = resumed;
        Description = PostgresConnections.Describe(dataSource.ConnectionString);
    }

    /// <summary>Whether an earlier, interrupted import of the same deployment is being finished.</summary>
    public bool Resumed { get; }

    /// <summary>Host, port and database (never the connection string).</summary>
    public string Description { get; }

    /// <summary>The connection the key database's rows are copied into.</summary>
    public DbConnection Connection => _connection;

    /// <summary>
    /// Brings the schema up to date and claims the database for <paramref name="deploymentId"/>: an empty database is
    /// marked as being imported into; one already marked for the same deployment is an interrupted import, resumed.
    /// Any other (another deployment's, or this deployment's after an import finished) is refused.
    /// </summary>
    public static async Task<PostgresKeyImport> BeginAsync(string connectionString, string deploymentId, CancellationToken ct = default)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        var description = PostgresConnections.Describe(connectionString);
        NpgsqlConnection? connection = null;
        try
        {
            try
            {
                PostgresMigrations.Apply(dataSource, PostgresKeyDatabase.Component);
            }
            catch (InvalidOperationException e)
            {
                throw new KmsException(KmsError.InvalidArgument, e.Message, e);
            }
            connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            PostgresConnections.Exec(connection, tx, $"SELECT pg_advisory_xact_lock({PostgresKeyStore.WriteLock})");
            var meta = new Dictionary<string, string>();
            await using (var cmd = new NpgsqlCommand("SELECT name, value FROM kms_meta", connection, tx))
            await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
                while (await reader.ReadAsync(ct).ConfigureAwait(false)) meta[reader.GetString(0)] = reader.GetString(1);
            var resumed = meta.ContainsKey(Mark);
            if (meta.TryGetValue("deployment_id", out var stored))
            {
                if (stored != deploymentId)
                    throw new KmsException(KmsError.AlreadyInitialized,
                        $"The {description} already holds the keys of deployment {stored}; migrate into an empty database.");
                if (!resumed)
                    throw new KmsException(KmsError.AlreadyInitialized,
                        $"The {description} already holds this deployment's keys (migrated or initialized before); nothing to migrate. " +
                        "Configure Coffre:Database with it and start coffre serve.");
            }
            else
            {
                await using var claim = new NpgsqlCommand(
                    "INSERT INTO kms_meta (name, value) VALUES ('deployment_id', @d), ('created_by', 'coffre'), (@m, 'from sqlite')", connection, tx);
                claim.Parameters.AddWithValue("d", deploymentId);
                claim.Parameters.AddWithValue("m", Mark);
                await claim.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return new PostgresKeyImport(dataSource, connection, resumed);
        }
        catch (NpgsqlException e)
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new KmsException(KmsError.StoreUnavailable, $"The {description} could not be reached or refused the migration: {e.Message}", e);
        }
        catch
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Ends the import: the chain head becomes the newest copied record (instances chain after it), both generations
    /// move past the source's (so no cache keeps a state from before), and the mark goes, in one transaction.
    /// </summary>
    public async Task FinishAsync(long keyGeneration, long accessKeyGeneration, CancellationToken ct = default)
    {
        await using var tx = await _connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        PostgresConnections.Exec(_connection, tx, $"SELECT pg_advisory_xact_lock({PostgresKeyStore.WriteLock})");
        await using var cmd = new NpgsqlCommand("""
            UPDATE kms_audit_head h SET seq = a.seq, hash = a.hash FROM (SELECT seq, hash FROM kms_audit ORDER BY seq DESC LIMIT 1) a WHERE h.id = 1;
            UPDATE kms_generation SET value = greatest(value, @k) + 1 WHERE id = 1;
            UPDATE kms_access_key_generation SET value = greatest(value, @a) + 1 WHERE id = 1;
            DELETE FROM kms_meta WHERE name = @m;
            """, _connection, tx);
        cmd.Parameters.AddWithValue("k", keyGeneration);
        cmd.Parameters.AddWithValue("a", accessKeyGeneration);
        cmd.Parameters.AddWithValue("m", Mark);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
