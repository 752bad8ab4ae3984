using Coffre.Kms;
using Coffre.Kms.Store;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// <see cref="IKeyStore"/> in keys.db: reads on pooled connections, writes in IMMEDIATE transactions (one writer at a
/// time, across processes). The generation is one indexed read of a local file, cheap enough to read on every
/// operation: every process sharing the file sees a change on its next operation.
/// </summary>
internal sealed class SqliteKeyStore(SqliteConnections connections, string deploymentId) : IKeyStore
{
    public string DeploymentId { get; } = deploymentId;

    public long ReadGeneration() => connections.Read(r => (long)r.Generation.ExecuteScalar()!);

    public KeyRecord? FindKeyById(string id) => connections.Read(r => SqliteKeyRows.FindKey(r.Connection, null, "id", id));
    public KeyRecord? FindKeyByName(string name) => connections.Read(r => SqliteKeyRows.FindKey(r.Connection, null, "name", name));
    public AliasRecord? FindAlias(string alias) => connections.Read(r => SqliteKeyRows.FindAlias(r.Connection, null, alias));
    public IReadOnlyList<KeyRecord> ListKeys() => connections.Read(r => SqliteKeyRows.ListKeys(r.Connection, null));
    public IReadOnlyList<KeyVersionRecord> ListVersions(string keyId) => connections.Read(r => SqliteKeyRows.ListVersions(r.Connection, null, keyId));
    public IReadOnlyList<AliasRecord> ListAliases() => connections.Read(r => SqliteKeyRows.ListAliases(r.Connection));

    public IKeyStoreTransaction BeginWrite()
    {
        var c = connections.Open();
        try
        {
            return new SqliteKeyStoreTransaction(connections, c, c.BeginTransaction(deferred: false));
        }
        catch (SqliteException e)
        {
            c.Dispose();
            throw connections.Unavailable("is busy or unavailable", e);
        }
    }

    public override string ToString() => $"SqliteKeyStore({connections.Path})";
}
