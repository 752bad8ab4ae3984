using System.Globalization;
using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// The key manager's database in one SQLite file (keys.db): WAL journal, synchronous=FULL, secure_delete,
/// busy_timeout so a server and a CLI can share it, schema version in PRAGMA user_version (<see cref="SqliteKeySchema"/>).
/// </summary>
public sealed class SqliteKeyDatabase : IKeyDatabase
{
    public const string FileName = "keys.db";

    private readonly SqliteConnections _connections;
    private readonly SqliteAuditLog _audit;

    private SqliteKeyDatabase(string path, string deploymentId)
    {
        _connections = new SqliteConnections(path);
        DeploymentId = deploymentId;
        Keys = new SqliteKeyStore(_connections, deploymentId);
        _audit = new SqliteAuditLog(_connections);
        AccessKeys = new SqliteAccessKeyStore(_connections);
        Leases = new SqliteLeaseStore(_connections);
    }

    public string Path => _connections.Path;
    public string DeploymentId { get; }
    public IKeyStore Keys { get; }
    public IAuditLog Audit => _audit;
    public IAccessKeyStore AccessKeys { get; }
    public ILeaseStore Leases { get; }

    // SQLite has no asynchronous I/O; one read of one row on a pooled connection.
    public Task PingAsync(CancellationToken ct = default) => Task.FromResult(_connections.Read(r => r.Generation.ExecuteScalar()));

    /// <summary>Creates keys.db for <paramref name="deploymentId"/>; fails if it already exists.</summary>
    public static SqliteKeyDatabase Create(string path, string deploymentId)
    {
        path = System.IO.Path.GetFullPath(path);
        if (File.Exists(path))
            throw new KmsException(KmsError.AlreadyInitialized, $"A key store already exists at {path}; refusing to overwrite it.");
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        try
        {
            using var c = new SqliteConnection(cs);
            c.Open();
            SqliteSql.Exec(c, "PRAGMA journal_mode=WAL;");
            SqliteConnections.Configure(c);
            using var tx = c.BeginTransaction();
            SqliteSql.Exec(c, SqliteKeySchema.Create, tx);
            SqliteSql.Exec(c, SqliteKeySchema.Additions, tx);
            using (var cmd = SqliteSql.Command(c, tx, "INSERT INTO meta(name, value) VALUES ('deployment_id', $d), ('created_by', 'coffre')"))
            {
                cmd.Parameters.AddWithValue("$d", deploymentId);
                cmd.ExecuteNonQuery();
            }
            SqliteSql.Exec(c, $"PRAGMA user_version = {SqliteKeySchema.Version};", tx);
            tx.Commit();
        }
        catch (SqliteException e)
        {
            throw new KmsException(KmsError.StoreUnavailable, $"The key store {path} could not be created: {e.Message}", e);
        }
        RestrictPermissions(path);
        return new SqliteKeyDatabase(path, deploymentId);
    }

    /// <summary>Opens an existing keys.db and checks its schema version and deployment.</summary>
    public static SqliteKeyDatabase Open(string path, string expectedDeploymentId)
    {
        path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(path))
            throw new KmsException(KmsError.NotInitialized, $"There is no key store at {path}; initialize the key manager first.");
        var database = new SqliteKeyDatabase(path, expectedDeploymentId);
        try
        {
            database._connections.Run(c =>
            {
                var version = Convert.ToInt32(SqliteSql.Scalar(c, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
                if (version is >= 1 && version < SqliteKeySchema.Version) version = Upgrade(c);
                if (version != SqliteKeySchema.Version)
                    throw new KmsException(KmsError.InvalidArgument,
                        $"The key store {path} has schema version {version}; this Coffre understands version {SqliteKeySchema.Version}. Upgrade Coffre or migrate the store.");
                var deployment = (string?)SqliteSql.Scalar(c, "SELECT value FROM meta WHERE name = 'deployment_id'");
                if (deployment != expectedDeploymentId)
                    throw new KmsException(KmsError.InvalidArgument,
                        $"The key store {path} belongs to deployment {deployment}, but the root seal is for deployment {expectedDeploymentId}.");
                SqliteSql.Exec(c, SqliteKeySchema.Additions);
                return 0;
            });
        }
        catch
        {
            database.Dispose();
            throw;
        }
        return database;
    }

    /// <summary>A read-only connection to keys.db, for copying its rows as they are (`coffre store migrate`); opened
    /// after <see cref="Open"/> has brought the file to the current schema.</summary>
    public static System.Data.Common.DbConnection OpenRows(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = System.IO.Path.GetFullPath(path), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    /// <summary>Brings an older keys.db to the current schema in place, in one write transaction (BEGIN IMMEDIATE, so
    /// two processes opening it at once upgrade it once); returns the version reached.</summary>
    private static int Upgrade(SqliteConnection c)
    {
        using var tx = c.BeginTransaction(deferred: false);
        // Read under the write lock: another process may have upgraded it meanwhile.
        var version = Convert.ToInt32(SqliteSql.Scalar(c, "PRAGMA user_version;", tx), CultureInfo.InvariantCulture);
        for (; version < SqliteKeySchema.Version; version++) SqliteSql.Exec(c, SqliteKeySchema.Upgrades[version - 1], tx);
        SqliteSql.Exec(c, $"PRAGMA user_version = {version};", tx);
        tx.Commit();
        return version;
    }

    private static void RestrictPermissions(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        foreach (var p in new[] { path, path + "-wal", path + "-shm" })
            if (File.Exists(p))
                File.SetUnixFileMode(p, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public void Dispose()
    {
        _audit.Dispose();
        _connections.Dispose();
    }

    public override string ToString() => $"SqliteKeyDatabase({Path})";
}
