using Coffre.Kms;
using Npgsql;

namespace Coffre.Postgres.Kms;

/// <summary>
/// The key database's connection pool (an <see cref="NpgsqlDataSource"/>) and the one place that turns Npgsql's
/// exceptions into <see cref="KmsException"/>: nothing of Npgsql leaves this project. Messages name the host and
/// database, never the connection string (it may hold a password).
/// </summary>
internal sealed class PostgresConnections(NpgsqlDataSource dataSource) : IDisposable
{
    public NpgsqlDataSource DataSource { get; } = dataSource;

    public string Description { get; } = Describe(dataSource.ConnectionString);

    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"PostgreSQL database '{b.Database}' on {b.Host}:{b.Port}";
    }

    public T Run<T>(Func<NpgsqlConnection, T> work)
    {
        try
        {
            using var c = DataSource.OpenConnection();
            return work(c);
        }
        catch (NpgsqlException e)
        {
            throw Unavailable(e);
        }
    }

    public async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var c = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await work(c).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw Unavailable(e);
        }
    }

    public KmsException Unavailable(Exception e) =>
        new(KmsError.StoreUnavailable, $"The key store ({Description}) could not be reached or refused the request: {e.Message}. Check that the database is up and reachable; requests succeed again once it is.", e);

    public KmsException AuditUnavailable(Exception e) =>
        new(KmsError.AuditUnavailable, $"The audit trail ({Description}) could not be written, so the operation was refused (no audit, no answer): {e.Message}", e);

    public static void Exec(NpgsqlConnection c, NpgsqlTransaction? tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => DataSource.Dispose();
}
