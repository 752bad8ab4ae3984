using System.Collections.Concurrent;
using Coffre.Kms;
using Microsoft.Data.Sqlite;

namespace Coffre.Sqlite.Kms;

/// <summary>
/// Connections to keys.db, configured alike (busy_timeout so a server and a CLI can share the file, synchronous=FULL,
/// foreign keys, secure_delete), and a pool of reader connections. The one place that turns a driver exception into
/// <see cref="KmsException"/>: nothing of Microsoft.Data.Sqlite leaves this project.
/// </summary>
internal sealed class SqliteConnections : IDisposable
{
    private const int BusyTimeoutMs = 10_000;
    private readonly string _connectionString;
    private readonly ConcurrentBag<Reader> _readers = new();
    private bool _disposed;

    public SqliteConnections(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>A reader connection with the generation query prepared once.</summary>
    public sealed class Reader(SqliteConnection connection) : IDisposable
    {
        public SqliteConnection Connection { get; } = connection;
        public SqliteCommand Generation { get; } = SqliteSql.Prepare(connection, "SELECT value FROM generation WHERE id = 1");

        public void Dispose()
        {
            Generation.Dispose();
            Connection.Dispose();
        }
    }

    /// <summary>A new configured read-write connection; <see cref="KmsError.StoreUnavailable"/> when the file cannot be opened.</summary>
    public SqliteConnection Open()
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
            throw Unavailable("cannot be opened", e);
        }
        return c;
    }

    public static void Configure(SqliteConnection c) =>
        SqliteSql.Exec(c, $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;");

    /// <summary>Runs a read on a pooled connection; a failed connection is closed rather than returned.</summary>
    public T Read<T>(Func<Reader, T> read)
    {
        var r = _readers.TryTake(out var pooled) ? pooled : new Reader(Open());
        try
        {
            var result = read(r);
            if (_disposed) r.Dispose();
            else _readers.Add(r);
            return result;
        }
        catch (SqliteException e)
        {
            r.Dispose();
            throw Unavailable("could not be read", e);
        }
        catch
        {
            r.Dispose();
            throw;
        }
    }

    /// <summary>Runs work on a connection of its own (closed after); driver errors become <see cref="KmsError.StoreUnavailable"/>.</summary>
    public T Run<T>(Func<SqliteConnection, T> work)
    {
        using var c = Open();
        try
        {
            return work(c);
        }
        catch (SqliteException e)
        {
            throw Unavailable("could not be read or written", e);
        }
    }

    public KmsException Unavailable(string what, Exception e) =>
        new(KmsError.StoreUnavailable, $"The key store {Path} {what}: {e.Message}. Check the disk, its free space and the file's permissions.", e);

    /// <summary>Moves the WAL's pages into the main file and empties the WAL, so page images of erased material do not linger.</summary>
    public void CheckpointWal()
    {
        try
        {
            using var c = Open();
            SqliteSql.Exec(c, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        catch (Exception e) when (e is SqliteException or KmsException)
        {
            // Best effort: the next checkpoint removes old page images from the WAL.
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        while (_readers.TryTake(out var r)) r.Dispose();
    }
}
