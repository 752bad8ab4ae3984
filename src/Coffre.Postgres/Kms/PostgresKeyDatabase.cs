using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// The key manager's database in PostgreSQL, shared by every instance of a deployment: schema by versioned migrations
/// (<see cref="PostgresMigrations"/>, component "kms"), the deployment id in <c>kms_meta</c>, asynchronous appends to
/// the one audit chain, key-state changes announced to the other instances by LISTEN/NOTIFY.
/// </summary>
public sealed class PostgresKeyDatabase : IKeyDatabase
{
    public const string Component = "Kms";

    private readonly PostgresConnections _connections;
    private readonly PostgresGenerationWatcher _watcher;

    private PostgresKeyDatabase(PostgresConnections connections, string deploymentId, long generation)
    {
        _connections = connections;
        DeploymentId = deploymentId;
        _watcher = new PostgresGenerationWatcher(connections.DataSource, generation);
        Keys = new PostgresKeyStore(connections, deploymentId, _watcher);
        Audit = new PostgresAuditLog(connections);
        AccessKeys = new PostgresAccessKeyStore(connections);
        Leases = new PostgresLeaseStore(connections);
    }

    public string DeploymentId { get; }
    public IKeyStore Keys { get; }
    public IAuditLog Audit { get; }
    public IAccessKeyStore AccessKeys { get; }
    public ILeaseStore Leases { get; }

    public Task PingAsync(CancellationToken ct = default) => _connections.RunAsync(async c =>
    {
        await using var cmd = new NpgsqlCommand("SELECT 1", c);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
    }, ct);

    /// <summary>Claims an empty database (or one migrated but never claimed) for <paramref name="deploymentId"/>.</summary>
    public static PostgresKeyDatabase Create(string connectionString, string deploymentId) => Connect(connectionString, deploymentId, create: true);

    /// <summary>Opens the database of <paramref name="expectedDeploymentId"/>, applying the migrations it lacks.</summary>
    public static PostgresKeyDatabase Open(string connectionString, string expectedDeploymentId) => Connect(connectionString, expectedDeploymentId, create: false);

    private static PostgresKeyDatabase Connect(string connectionString, string deploymentId, bool create)
    {
        var connections = new PostgresConnections(NpgsqlDataSource.Create(connectionString));
        try
        {
            try
            {
                PostgresMigrations.Apply(connections.DataSource, Component);
            }
            catch (InvalidOperationException e)
            {
                throw new KmsException(KmsError.InvalidArgument, e.Message, e);
            }
            var generation = connections.Run(c =>
            {
                using var tx = c.BeginTransaction();
                PostgresConnections.Exec(c, tx, $"SELECT pg_advisory_xact_lock({PostgresKeyStore.WriteLock})");
                string? stored;
                using (var cmd = new NpgsqlCommand("SELECT value FROM kms_meta WHERE name = 'deployment_id'", c, tx))
                    stored = cmd.ExecuteScalar() as string;
                if (create)
                {
                    if (stored is not null)
                        throw new KmsException(KmsError.AlreadyInitialized,
                            $"The {connections.Description} already holds the keys of deployment {stored}; refusing to initialize over it.");
                    using var insert = new NpgsqlCommand("INSERT INTO kms_meta (name, value) VALUES ('deployment_id', @d), ('created_by', 'coffre')", c, tx);
                    insert.Parameters.AddWithValue("d", deploymentId);
                    insert.ExecuteNonQuery();
                }
                else if (stored is null)
                    throw new KmsException(KmsError.NotInitialized, $"The {connections.Description} holds no key store; initialize the deployment first.");
                else if (stored != deploymentId)
                    throw new KmsException(KmsError.InvalidArgument,
                        $"The {connections.Description} belongs to deployment {stored}, but the root seal is for deployment {deploymentId}.");
                else
                {
                    using var marked = new NpgsqlCommand($"SELECT 1 FROM kms_meta WHERE name = '{PostgresKeyImport.Mark}'", c, tx);
                    if (marked.ExecuteScalar() is not null)
                        throw new KmsException(KmsError.Conflict,
                            $"The {connections.Description} is still being filled by `coffre store migrate`, which was interrupted: run it again to finish; nothing opens the database until then.");
                }
                long value;
                using (var cmd = new NpgsqlCommand("SELECT value FROM kms_generation WHERE id = 1", c, tx))
                    value = (long)cmd.ExecuteScalar()!;
                tx.Commit();
                return value;
            });
            return new PostgresKeyDatabase(connections, deploymentId, generation);
        }
        catch
        {
            connections.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
#pragma warning disable VSTHRD002 // closing the database at the end of the process, a command or a test: no request waits on it
        _watcher.DisposeAsync().AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
        _connections.Dispose();
    }

    public override string ToString() => $"PostgresKeyDatabase({_connections.Description})";
}
