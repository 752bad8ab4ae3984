using Coffre.Kms.Store;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// <see cref="IKeyStore"/> in PostgreSQL. Writers take a transaction-level advisory lock, so write transactions run
/// one at a time across every instance (as SQLite's IMMEDIATE transactions do across processes). The generation is
/// answered from memory (<see cref="PostgresGenerationWatcher"/>): no round trip per key-manager operation.
/// </summary>
internal sealed class PostgresKeyStore(PostgresConnections connections, string deploymentId, PostgresGenerationWatcher watcher) : IKeyStore
{
    // Arbitrary constant shared by every instance: "coffre:kms-write".
    internal const long WriteLock = 0x636f_6666_726b_7777;

    public string DeploymentId { get; } = deploymentId;

    public long ReadGeneration() => watcher.Generation;

    public KeyRecord? FindKeyById(string id) => connections.Run(c => PostgresKeyRows.FindKey(c, null, "id", id));
    public KeyRecord? FindKeyByName(string name) => connections.Run(c => PostgresKeyRows.FindKey(c, null, "name", name));
    public AliasRecord? FindAlias(string alias) => connections.Run(c => PostgresKeyRows.FindAlias(c, null, alias));
    public IReadOnlyList<KeyRecord> ListKeys() => connections.Run(c => PostgresKeyRows.ListKeys(c, null));
    public IReadOnlyList<KeyVersionRecord> ListVersions(string keyId) => connections.Run(c => PostgresKeyRows.ListVersions(c, null, keyId));
    public IReadOnlyList<AliasRecord> ListAliases() => connections.Run(PostgresKeyRows.ListAliases);

    public IKeyStoreTransaction BeginWrite()
    {
        NpgsqlConnection? c = null;
        try
        {
            c = connections.DataSource.OpenConnection();
            var tx = c.BeginTransaction();
            PostgresConnections.Exec(c, tx, $"SELECT pg_advisory_xact_lock({WriteLock})");
            return new PostgresKeyStoreTransaction(connections, watcher, c, tx);
        }
        catch (NpgsqlException e)
        {
            c?.Dispose();
            throw connections.Unavailable(e);
        }
    }

    public override string ToString() => $"PostgresKeyStore({connections.Description})";
}
