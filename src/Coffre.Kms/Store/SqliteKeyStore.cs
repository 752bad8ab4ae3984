using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Microsoft.Data.Sqlite;

namespace Coffre.Kms.Store;

/// <summary>
/// <see cref="IKeyStore"/> in one SQLite file (keys.db): WAL journal, synchronous=FULL,
/// secure_delete, busy_timeout so a server and a CLI can share it, schema version in
/// PRAGMA user_version. Schema: docs/format.md §6.3.
/// </summary>
public sealed class SqliteKeyStore : IKeyStore
{
    public const int SchemaVersion = 1;
    public const string FileName = "keys.db";
    private const int BusyTimeoutMs = 10_000;

    private readonly string _connectionString;
    private readonly ConcurrentBag<Reader> _readers = new();
    private readonly object _auditWriterLock = new();
    private SqliteConnection? _auditWriter;
    private AuditAppender? _auditAppender;
    private bool _disposed;

    public string Path { get; }
    public string DeploymentId { get; }

    private SqliteKeyStore(string path, string deploymentId)
    {
        Path = path;
        DeploymentId = deploymentId;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();
    }

    /// <summary>Creates keys.db for <paramref name="deploymentId"/>; fails if it already exists.</summary>
    public static SqliteKeyStore Create(string path, string deploymentId)
    {
        path = System.IO.Path.GetFullPath(path);
        if (File.Exists(path))
            throw new KmsException(KmsError.AlreadyInitialized, $"A key store already exists at {path}; refusing to overwrite it.");
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        using (var c = new SqliteConnection(cs))
        {
            c.Open();
            Exec(c, "PRAGMA journal_mode=WAL;");
            Configure(c);
            using var tx = c.BeginTransaction();
            Exec(c, Schema, tx);
            using (var cmd = c.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO meta(name, value) VALUES ('deployment_id', $d), ('created_by', 'coffre')";
                cmd.Parameters.AddWithValue("$d", deploymentId);
                cmd.ExecuteNonQuery();
            }
            Exec(c, $"PRAGMA user_version = {SchemaVersion};", tx);
            tx.Commit();
        }
        RestrictPermissions(path);
        return new SqliteKeyStore(path, deploymentId);
    }

    /// <summary>Opens an existing keys.db and checks its schema version and deployment.</summary>
    public static SqliteKeyStore Open(string path, string expectedDeploymentId)
    {
        path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(path))
            throw new KmsException(KmsError.NotInitialized, $"There is no key store at {path}; initialize the key manager first.");
        var store = new SqliteKeyStore(path, expectedDeploymentId);
        var reader = store.Rent();
        try
        {
            var version = Convert.ToInt32(Scalar(reader.Connection, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
            if (version != SchemaVersion)
                throw new KmsException(KmsError.InvalidArgument,
                    $"The key store {path} has schema version {version}; this Coffre understands version {SchemaVersion}. Upgrade Coffre or migrate the store.");
            var deployment = (string?)Scalar(reader.Connection, "SELECT value FROM meta WHERE name = 'deployment_id'");
            if (deployment != expectedDeploymentId)
                throw new KmsException(KmsError.InvalidArgument,
                    $"The key store {path} belongs to deployment {deployment}, but the root seal is for deployment {expectedDeploymentId}.");
        }
        catch
        {
            store.Return(reader);
            store.Dispose();
            throw;
        }
        store.Return(reader);
        return store;
    }

    private const string Schema = """
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT INTO generation (id, value) VALUES (1, 0);
        CREATE TABLE keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT,
            created TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'pending_destruction', 'destroyed')),
            state_before_destruction TEXT CHECK (state_before_destruction IN ('enabled', 'disabled')),
            primary_version INTEGER NOT NULL CHECK (primary_version >= 1),
            min_decryption_version INTEGER NOT NULL CHECK (min_decryption_version >= 1),
            rotation_period_seconds INTEGER CHECK (rotation_period_seconds > 0),
            next_rotation TEXT,
            destruction_date TEXT,
            tags TEXT NOT NULL DEFAULT '{}'
        ) WITHOUT ROWID;
        CREATE TABLE key_versions (
            key_id TEXT NOT NULL REFERENCES keys (id),
            version INTEGER NOT NULL CHECK (version >= 1),
            state TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'destroyed')),
            created TEXT NOT NULL,
            destroyed TEXT,
            material BLOB,
            PRIMARY KEY (key_id, version),
            CHECK ((state = 'destroyed') = (material IS NULL))
        );
        CREATE TABLE aliases (
            alias TEXT PRIMARY KEY,
            key_id TEXT NOT NULL REFERENCES keys (id),
            created TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            time TEXT NOT NULL,
            principal TEXT NOT NULL,
            operation TEXT NOT NULL,
            key_id TEXT,
            key_name TEXT,
            key_version INTEGER,
            context TEXT,
            result TEXT NOT NULL,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL
        );
        CREATE INDEX audit_key_id ON audit (key_id);
        CREATE INDEX audit_time ON audit (time);
        """;

    // ---- connections -------------------------------------------------------------------

    private sealed class Reader(SqliteConnection connection) : IDisposable
    {
        public SqliteConnection Connection { get; } = connection;
        public SqliteCommand Generation { get; } = Prepare(connection, "SELECT value FROM generation WHERE id = 1");

        public void Dispose()
        {
            Generation.Dispose();
            Connection.Dispose();
        }
    }

    private SqliteConnection OpenConnection()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var c = new SqliteConnection(_connectionString);
        try
        {
            c.Open();
            Configure(c);
        }
        catch (SqliteException e)
        {
            c.Dispose();
            throw new KmsException(KmsError.StoreUnavailable, $"The key store {Path} cannot be opened: {e.Message}", e);
        }
        return c;
    }

    private static void Configure(SqliteConnection c) =>
        Exec(c, $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;");

    private Reader Rent() => _readers.TryTake(out var r) ? r : new Reader(OpenConnection());

    private void Return(Reader r)
    {
        if (_disposed) r.Dispose();
        else _readers.Add(r);
    }

    private T Read<T>(Func<SqliteConnection, T> read)
    {
        var r = Rent();
        try
        {
            return read(r.Connection);
        }
        catch (SqliteException e)
        {
            r.Dispose();
            r = null;
            throw new KmsException(KmsError.StoreUnavailable, $"Reading the key store {Path} failed: {e.Message}", e);
        }
        finally
        {
            if (r is not null) Return(r);
        }
    }

    // ---- reads ------------------------------------------------------------------------------

    public long ReadGeneration()
    {
        var r = Rent();
        try
        {
            return (long)r.Generation.ExecuteScalar()!;
        }
        catch (SqliteException e)
        {
            r.Dispose();
            r = null;
            throw new KmsException(KmsError.StoreUnavailable, $"Reading the key store {Path} failed: {e.Message}", e);
        }
        finally
        {
            if (r is not null) Return(r);
        }
    }

    public KeyRecord? FindKeyById(string id) => Read(c => Sql.FindKey(c, null, "id", id));
    public KeyRecord? FindKeyByName(string name) => Read(c => Sql.FindKey(c, null, "name", name));
    public AliasRecord? FindAlias(string alias) => Read(c => Sql.FindAlias(c, null, alias));
    public IReadOnlyList<KeyRecord> ListKeys() => Read(c => Sql.ListKeys(c, null));
    public IReadOnlyList<KeyVersionRecord> ListVersions(string keyId) => Read(c => Sql.ListVersions(c, null, keyId));
    public IReadOnlyList<AliasRecord> ListAliases() => Read(c => Sql.ListAliases(c));

    public IReadOnlyList<AuditRecord> ReadAudit(AuditFilter filter) => Read(c =>
    {
        using var cmd = c.CreateCommand();
        var where = new List<string>();
        if (filter.Key is not null) { where.Add("(key_id = $key OR key_name = $key)"); cmd.Parameters.AddWithValue("$key", filter.Key); }
        if (filter.Principal is not null) { where.Add("principal = $principal"); cmd.Parameters.AddWithValue("$principal", filter.Principal); }
        if (filter.Operation is not null) { where.Add("operation = $operation"); cmd.Parameters.AddWithValue("$operation", filter.Operation); }
        if (filter.From is { } from) { where.Add("time >= $from"); cmd.Parameters.AddWithValue("$from", AuditChain.FormatTime(from)); }
        if (filter.To is { } to) { where.Add("time < $to"); cmd.Parameters.AddWithValue("$to", AuditChain.FormatTime(to)); }
        if (filter.AfterSequence is { } after) { where.Add("seq > $after"); cmd.Parameters.AddWithValue("$after", after); }
        if (filter.ThroughSequence is { } through) { where.Add("seq <= $through"); cmd.Parameters.AddWithValue("$through", through); }
        var member = 0;
        foreach (var (name, value) in filter.Context ?? new Dictionary<string, string>())
        {
            if (name.Contains('"')) throw new ArgumentException($"A context filter member name cannot contain '\"' ({name}).", nameof(filter));
            where.Add($"json_extract(context, $path{member}) = $value{member}");
            cmd.Parameters.AddWithValue($"$path{member}", $"$.\"{name}\"");
            cmd.Parameters.AddWithValue($"$value{member}", value);
            member++;
        }
        cmd.CommandText = "SELECT seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash FROM audit"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + (filter.Newest ? " ORDER BY seq DESC" : " ORDER BY seq") + " LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", Math.Max(0, filter.Limit));
        var list = new List<AuditRecord>();
        using var rd = cmd.ExecuteReader();
        while (rd.Read()) list.Add(Sql.ReadAuditRecord(rd));
        if (filter.Newest) list.Reverse();
        return list;
    });

    public IEnumerable<AuditRecord> ReadAuditChain()
    {
        var r = Rent();
        try
        {
            using var tx = r.Connection.BeginTransaction(deferred: true);
            using var cmd = r.Connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash FROM audit ORDER BY seq";
            using var rd = cmd.ExecuteReader();
            while (rd.Read()) yield return Sql.ReadAuditRecord(rd);
        }
        finally
        {
            Return(r);
        }
    }

    // ---- audit group-commit target ------------------------------------------------------

    private bool _auditSynchronousNormal;

    /// <summary>
    /// Opt-in (default off): group-committed audit records (operations that change no state) are committed
    /// with <c>PRAGMA synchronous = NORMAL</c> instead of FULL, so a commit does not wait for fsync. The
    /// WAL keeps the chain consistent and an application crash loses nothing, but a power failure or
    /// kernel crash can lose the last audit records of operations already answered. State changes keep FULL.
    /// </summary>
    public bool AuditSynchronousNormal
    {
        get => _auditSynchronousNormal;
        set
        {
            lock (_auditWriterLock)
            {
                _auditSynchronousNormal = value;
                CloseAuditWriter();
            }
        }
    }

    private void CloseAuditWriter()
    {
        _auditAppender?.Dispose();
        _auditAppender = null;
        _auditWriter?.Dispose();
        _auditWriter = null;
    }

    public void AppendAudit(IReadOnlyList<AuditEntry> entries)
    {
        if (entries.Count == 0) return;
        lock (_auditWriterLock)
        {
            try
            {
                if (_auditWriter is null)
                {
                    _auditWriter = OpenConnection();
                    if (_auditSynchronousNormal) Exec(_auditWriter, "PRAGMA synchronous = NORMAL;");
                    _auditAppender = new AuditAppender(_auditWriter);
                }
                using var tx = _auditWriter.BeginTransaction(deferred: false);
                _auditAppender!.Append(tx, entries);
                tx.Commit();
            }
            catch (Exception e) when (e is SqliteException or KmsException { Error: KmsError.StoreUnavailable })
            {
                CloseAuditWriter();
                throw new KmsException(KmsError.AuditUnavailable,
                    "The audit trail could not be written, so the operation was refused (no audit, no answer). Check the key store's disk and permissions.", e);
            }
        }
    }

    public IKeyStoreTransaction BeginWrite()
    {
        var c = OpenConnection();
        try
        {
            var tx = c.BeginTransaction(deferred: false);
            return new Transaction(this, c, tx);
        }
        catch (SqliteException e)
        {
            c.Dispose();
            throw new KmsException(KmsError.StoreUnavailable, $"The key store {Path} is busy or unavailable: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        while (_readers.TryTake(out var r)) r.Dispose();
        lock (_auditWriterLock) CloseAuditWriter();
    }

    public override string ToString() => $"SqliteKeyStore({Path})";

    private void Checkpoint()
    {
        try
        {
            using var c = OpenConnection();
            Exec(c, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        catch (Exception e) when (e is SqliteException or KmsException)
        {
            // Best effort: the next checkpoint removes old page images from the WAL.
        }
    }

    private sealed class Transaction(SqliteKeyStore store, SqliteConnection c, SqliteTransaction tx) : IKeyStoreTransaction
    {
        private bool _checkpoint;
        private bool _done;

        public KeyRecord? FindKeyById(string id) => Sql.FindKey(c, tx, "id", id);
        public KeyRecord? FindKeyByName(string name) => Sql.FindKey(c, tx, "name", name);
        public AliasRecord? FindAlias(string alias) => Sql.FindAlias(c, tx, alias);
        public IReadOnlyList<KeyRecord> ListKeys() => Sql.ListKeys(c, tx);
        public IReadOnlyList<KeyVersionRecord> ListVersions(string keyId) => Sql.ListVersions(c, tx, keyId);

        public void InsertKey(KeyRecord key) => Sql.WriteKey(c, tx, key, insert: true);
        public void UpdateKey(KeyRecord key) => Sql.WriteKey(c, tx, key, insert: false);

        public void InsertVersion(KeyVersionRecord v)
        {
            using var cmd = Command("INSERT INTO key_versions (key_id, version, state, created, destroyed, material) VALUES ($k, $v, $s, $c, $d, $m)");
            cmd.Parameters.AddWithValue("$k", v.KeyId);
            cmd.Parameters.AddWithValue("$v", v.Version);
            cmd.Parameters.AddWithValue("$s", Sql.VersionStateText(v.State));
            cmd.Parameters.AddWithValue("$c", AuditChain.FormatTime(v.Created));
            cmd.Parameters.AddWithValue("$d", Sql.Db(v.Destroyed));
            cmd.Parameters.AddWithValue("$m", (object?)v.WrappedMaterial ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }

        public void SetVersionState(string keyId, int version, KeyVersionState state)
        {
            if (state == KeyVersionState.Destroyed) throw new ArgumentException("Use DestroyVersions.", nameof(state));
            using var cmd = Command("UPDATE key_versions SET state = $s WHERE key_id = $k AND version = $v AND state <> 'destroyed'");
            cmd.Parameters.AddWithValue("$s", Sql.VersionStateText(state));
            cmd.Parameters.AddWithValue("$k", keyId);
            cmd.Parameters.AddWithValue("$v", version);
            cmd.ExecuteNonQuery();
        }

        public void DestroyVersions(string keyId, DateTimeOffset when)
        {
            // Overwrite in place first, then erase; secure_delete zeroes freed pages.
            using (var cmd = Command("UPDATE key_versions SET material = zeroblob(length(material)) WHERE key_id = $k AND material IS NOT NULL"))
            {
                cmd.Parameters.AddWithValue("$k", keyId);
                cmd.ExecuteNonQuery();
            }
            using (var cmd = Command("UPDATE key_versions SET material = NULL, state = 'destroyed', destroyed = COALESCE(destroyed, $d) WHERE key_id = $k"))
            {
                cmd.Parameters.AddWithValue("$k", keyId);
                cmd.Parameters.AddWithValue("$d", AuditChain.FormatTime(when));
                cmd.ExecuteNonQuery();
            }
            _checkpoint = true;
        }

        public void UpsertAlias(AliasRecord a)
        {
            using var cmd = Command("INSERT INTO aliases (alias, key_id, created) VALUES ($a, $k, $c) ON CONFLICT (alias) DO UPDATE SET key_id = excluded.key_id");
            cmd.Parameters.AddWithValue("$a", a.Alias);
            cmd.Parameters.AddWithValue("$k", a.KeyId);
            cmd.Parameters.AddWithValue("$c", AuditChain.FormatTime(a.Created));
            cmd.ExecuteNonQuery();
        }

        public bool DeleteAlias(string alias)
        {
            using var cmd = Command("DELETE FROM aliases WHERE alias = $a");
            cmd.Parameters.AddWithValue("$a", alias);
            return cmd.ExecuteNonQuery() > 0;
        }

        public void AppendAudit(AuditEntry entry)
        {
            try
            {
                Sql.AppendAudit(c, tx, [entry]);
            }
            catch (SqliteException e)
            {
                throw new KmsException(KmsError.AuditUnavailable,
                    "The audit trail could not be written, so the change was not made (no audit, no answer). Check the key store's disk and permissions.", e);
            }
        }

        public void Commit()
        {
            try
            {
                using (var cmd = Command("UPDATE generation SET value = value + 1 WHERE id = 1"))
                    cmd.ExecuteNonQuery();
                tx.Commit();
            }
            catch (SqliteException e)
            {
                throw new KmsException(KmsError.AuditUnavailable,
                    $"The change and its audit record could not be committed to {store.Path}, so the change was not made: {e.Message}", e);
            }
            _done = true;
            if (_checkpoint) store.Checkpoint();
        }

        public void Dispose()
        {
            if (!_done)
            {
                try { tx.Rollback(); } catch (SqliteException) { } catch (InvalidOperationException) { }
            }
            tx.Dispose();
            c.Dispose();
        }

        private SqliteCommand Command(string sql)
        {
            var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = sql;
            return cmd;
        }
    }

    /// <summary>Appends one audit record inside another writer's transaction on keys.db (the access-key store), chained like every other.</summary>
    internal static void AppendAuditInTransaction(SqliteConnection c, SqliteTransaction tx, AuditEntry entry) => Sql.AppendAudit(c, tx, [entry]);

    // ---- helpers -----------------------------------------------------------------------------

    private static void RestrictPermissions(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        foreach (var p in new[] { path, path + "-wal", path + "-shm" })
            if (File.Exists(p))
                File.SetUnixFileMode(p, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static SqliteCommand Prepare(SqliteConnection c, string sql)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Prepare();
        return cmd;
    }

    private static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static class Sql
    {
        private const string KeyColumns = "id, name, description, created, state, state_before_destruction, primary_version, min_decryption_version, rotation_period_seconds, next_rotation, destruction_date, tags";

        public static object Db(DateTimeOffset? t) => t is { } v ? AuditChain.FormatTime(v) : DBNull.Value;
        private static DateTimeOffset? Time(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : AuditChain.ParseTime(r.GetString(i));

        public static string StateText(KeyState s) => s switch
        {
            KeyState.Enabled => "enabled",
            KeyState.Disabled => "disabled",
            KeyState.PendingDestruction => "pending_destruction",
            KeyState.Destroyed => "destroyed",
            _ => throw new ArgumentOutOfRangeException(nameof(s)),
        };

        private static KeyState ParseState(string s) => s switch
        {
            "enabled" => KeyState.Enabled,
            "disabled" => KeyState.Disabled,
            "pending_destruction" => KeyState.PendingDestruction,
            "destroyed" => KeyState.Destroyed,
            _ => throw new KmsException(KmsError.StoreUnavailable, $"The key store holds an unknown key state '{s}'."),
        };

        public static string VersionStateText(KeyVersionState s) => s switch
        {
            KeyVersionState.Enabled => "enabled",
            KeyVersionState.Disabled => "disabled",
            KeyVersionState.Destroyed => "destroyed",
            _ => throw new ArgumentOutOfRangeException(nameof(s)),
        };

        private static KeyVersionState ParseVersionState(string s) => s switch
        {
            "enabled" => KeyVersionState.Enabled,
            "disabled" => KeyVersionState.Disabled,
            "destroyed" => KeyVersionState.Destroyed,
            _ => throw new KmsException(KmsError.StoreUnavailable, $"The key store holds an unknown version state '{s}'."),
        };

        public static KeyRecord? FindKey(SqliteConnection c, SqliteTransaction? tx, string column, string value)
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"SELECT {KeyColumns} FROM keys WHERE {column} = $v";
            cmd.Parameters.AddWithValue("$v", value);
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadKey(r) : null;
        }

        public static IReadOnlyList<KeyRecord> ListKeys(SqliteConnection c, SqliteTransaction? tx)
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"SELECT {KeyColumns} FROM keys ORDER BY name";
            using var r = cmd.ExecuteReader();
            var list = new List<KeyRecord>();
            while (r.Read()) list.Add(ReadKey(r));
            return list;
        }

        private static KeyRecord ReadKey(SqliteDataReader r) => new(
            r.GetString(0),
            r.GetString(1),
            r.IsDBNull(2) ? null : r.GetString(2),
            AuditChain.ParseTime(r.GetString(3)),
            ParseState(r.GetString(4)),
            r.IsDBNull(5) ? null : ParseState(r.GetString(5)),
            r.GetInt32(6),
            r.GetInt32(7),
            r.IsDBNull(8) ? null : TimeSpan.FromSeconds(r.GetInt64(8)),
            Time(r, 9),
            Time(r, 10),
            JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(11)) ?? new Dictionary<string, string>());

        public static void WriteKey(SqliteConnection c, SqliteTransaction tx, KeyRecord k, bool insert)
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = insert
                ? $"INSERT INTO keys ({KeyColumns}) VALUES ($id, $name, $description, $created, $state, $before, $primary, $min, $period, $next, $destroy, $tags)"
                : "UPDATE keys SET name = $name, description = $description, created = $created, state = $state, state_before_destruction = $before, primary_version = $primary, min_decryption_version = $min, rotation_period_seconds = $period, next_rotation = $next, destruction_date = $destroy, tags = $tags WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", k.Id);
            cmd.Parameters.AddWithValue("$name", k.Name);
            cmd.Parameters.AddWithValue("$description", (object?)k.Description ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$created", AuditChain.FormatTime(k.Created));
            cmd.Parameters.AddWithValue("$state", StateText(k.State));
            cmd.Parameters.AddWithValue("$before", k.StateBeforeDestruction is { } b ? StateText(b) : DBNull.Value);
            cmd.Parameters.AddWithValue("$primary", k.PrimaryVersion);
            cmd.Parameters.AddWithValue("$min", k.MinimumDecryptionVersion);
            cmd.Parameters.AddWithValue("$period", k.RotationPeriod is { } p ? (long)Math.Ceiling(p.TotalSeconds) : DBNull.Value);
            cmd.Parameters.AddWithValue("$next", Db(k.NextRotation));
            cmd.Parameters.AddWithValue("$destroy", Db(k.DestructionDate));
            cmd.Parameters.AddWithValue("$tags", JsonSerializer.Serialize(new SortedDictionary<string, string>(k.Tags.ToDictionary(), StringComparer.Ordinal)));
            if (cmd.ExecuteNonQuery() != 1)
                throw new KmsException(KmsError.NotFound, $"Key {k.Id} disappeared from the key store during the change.");
        }

        public static IReadOnlyList<KeyVersionRecord> ListVersions(SqliteConnection c, SqliteTransaction? tx, string keyId)
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT key_id, version, state, created, destroyed, material FROM key_versions WHERE key_id = $k ORDER BY version";
            cmd.Parameters.AddWithValue("$k", keyId);
            using var r = cmd.ExecuteReader();
            var list = new List<KeyVersionRecord>();
            while (r.Read())
                list.Add(new KeyVersionRecord(r.GetString(0), r.GetInt32(1), ParseVersionState(r.GetString(2)),
                    AuditChain.ParseTime(r.GetString(3)), Time(r, 4), r.IsDBNull(5) ? null : (byte[])r.GetValue(5)));
            return list;
        }

        public static AliasRecord? FindAlias(SqliteConnection c, SqliteTransaction? tx, string alias)
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT alias, key_id, created FROM aliases WHERE alias = $a";
            cmd.Parameters.AddWithValue("$a", alias);
            using var r = cmd.ExecuteReader();
            return r.Read() ? new AliasRecord(r.GetString(0), r.GetString(1), AuditChain.ParseTime(r.GetString(2))) : null;
        }

        public static IReadOnlyList<AliasRecord> ListAliases(SqliteConnection c)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT alias, key_id, created FROM aliases ORDER BY alias";
            using var r = cmd.ExecuteReader();
            var list = new List<AliasRecord>();
            while (r.Read()) list.Add(new AliasRecord(r.GetString(0), r.GetString(1), AuditChain.ParseTime(r.GetString(2))));
            return list;
        }

        public static AuditRecord ReadAuditRecord(SqliteDataReader r) => new(
            r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
            r.IsDBNull(4) ? null : r.GetString(4),
            r.IsDBNull(5) ? null : r.GetString(5),
            r.IsDBNull(6) ? null : r.GetInt32(6),
            r.IsDBNull(7) ? null : r.GetString(7),
            r.GetString(8),
            (byte[])r.GetValue(9),
            (byte[])r.GetValue(10));

        /// <summary>Chains the entries after the current tail, inside the caller's write transaction.</summary>
        public static void AppendAudit(SqliteConnection c, SqliteTransaction tx, IReadOnlyList<AuditEntry> entries)
        {
            using var appender = new AuditAppender(c);
            appender.Append(tx, entries);
        }
    }

    /// <summary>
    /// The two statements that chain audit records after the tail, prepared once per connection: the
    /// group-commit writer keeps one for its connection instead of parsing both again for every batch.
    /// </summary>
    private sealed class AuditAppender : IDisposable
    {
        private readonly SqliteCommand _tail;
        private readonly SqliteCommand _insert;
        private readonly SqliteParameter _seq, _time, _principal, _operation, _keyId, _keyName, _keyVersion, _context, _result, _prev, _hash;

        public AuditAppender(SqliteConnection c)
        {
            _tail = c.CreateCommand();
            _tail.CommandText = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
            _insert = c.CreateCommand();
            _insert.CommandText = "INSERT INTO audit (seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash) VALUES ($seq, $time, $principal, $operation, $key_id, $key_name, $key_version, $context, $result, $prev, $hash)";
            _seq = _insert.Parameters.Add("$seq", SqliteType.Integer);
            _time = _insert.Parameters.Add("$time", SqliteType.Text);
            _principal = _insert.Parameters.Add("$principal", SqliteType.Text);
            _operation = _insert.Parameters.Add("$operation", SqliteType.Text);
            _keyId = _insert.Parameters.Add("$key_id", SqliteType.Text);
            _keyName = _insert.Parameters.Add("$key_name", SqliteType.Text);
            _keyVersion = _insert.Parameters.Add("$key_version", SqliteType.Integer);
            _context = _insert.Parameters.Add("$context", SqliteType.Text);
            _result = _insert.Parameters.Add("$result", SqliteType.Text);
            _prev = _insert.Parameters.Add("$prev", SqliteType.Blob);
            _hash = _insert.Parameters.Add("$hash", SqliteType.Blob);
        }

        public void Append(SqliteTransaction tx, IReadOnlyList<AuditEntry> entries)
        {
            long seq = 0;
            var prev = AuditChain.Genesis;
            _tail.Transaction = tx;
            using (var r = _tail.ExecuteReader())
            {
                if (r.Read())
                {
                    seq = r.GetInt64(0);
                    prev = (byte[])r.GetValue(1);
                }
            }
            _insert.Transaction = tx;
            foreach (var e in entries)
            {
                var rec = AuditChain.Seal(e, ++seq, prev);
                _seq.Value = rec.Sequence;
                _time.Value = rec.TimeText;
                _principal.Value = rec.Principal;
                _operation.Value = rec.Operation;
                _keyId.Value = (object?)rec.KeyId ?? DBNull.Value;
                _keyName.Value = (object?)rec.KeyName ?? DBNull.Value;
                _keyVersion.Value = (object?)rec.KeyVersion ?? DBNull.Value;
                _context.Value = (object?)rec.Context ?? DBNull.Value;
                _result.Value = rec.Result;
                _prev.Value = rec.PrevHash;
                _hash.Value = rec.Hash;
                _insert.ExecuteNonQuery();
                prev = rec.Hash;
            }
        }

        public void Dispose()
        {
            _tail.Dispose();
            _insert.Dispose();
        }
    }
}
