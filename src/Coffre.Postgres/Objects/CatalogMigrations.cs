using System.Globalization;
using Npgsql;

namespace Coffre.Postgres.Objects;

/// <summary>
/// The catalog's schema, versioned in the repository: numbered SQL files (Objects/Migrations/NNNN_*.sql, embedded in
/// the assembly) applied in order, each in the transaction that records it in <c>catalog.schema_version</c>, under
/// an advisory lock so that several instances starting at once apply each migration exactly once. Numbers may have gaps
/// (each branch of development reserves its own).
/// </summary>
internal static class CatalogMigrations
{
    /// <summary>The advisory lock of catalog migrations ("CoffreCa" in ASCII): any constant, the same in every instance.</summary>
    private const long LockId = 0x436F_6666_7265_4361;
    private const string ResourcePrefix = "catalog-migrations/";

    public static IReadOnlyList<(int Version, string Sql)> Scripts { get; } = Load();

    public static int Latest => Scripts[^1].Version;

    /// <summary>A data source on the catalog's database with its schema brought up to date, for the stores beside the
    /// catalog (placement states, blob copies); a database failure is turned into <paramref name="unavailable"/>'s error.</summary>
    public static async Task<NpgsqlDataSource> OpenAsync(string connectionString, Func<NpgsqlException, Exception> unavailable, CancellationToken ct)
    {
        var db = NpgsqlDataSource.Create(connectionString);
        try
        {
            await ApplyAsync(db, ct).ConfigureAwait(false);
            return db;
        }
        catch (Exception e)
        {
            await db.DisposeAsync().ConfigureAwait(false);
            if (e is NpgsqlException n) throw unavailable(n);
            throw;
        }
    }

    public static async Task ApplyAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await ExecuteAsync(c, tx, $"SELECT pg_advisory_xact_lock({LockId})", ct).ConfigureAwait(false);
        await ExecuteAsync(c, tx, """
            CREATE SCHEMA IF NOT EXISTS catalog;
            CREATE TABLE IF NOT EXISTS catalog.schema_version(version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now());
            """, ct).ConfigureAwait(false);
        // Each migration not yet recorded is applied, not only those above the highest: migrations written on parallel
        // branches (numbers reserved per branch) may land in any order.
        var applied = new HashSet<int>();
        await using (var read = new NpgsqlCommand("SELECT version FROM catalog.schema_version", c, tx))
        await using (var rows = await read.ExecuteReaderAsync(ct).ConfigureAwait(false))
            while (await rows.ReadAsync(ct).ConfigureAwait(false)) applied.Add(rows.GetInt32(0));
        if (applied.Count > 0 && applied.Max() > Latest)
            throw new InvalidOperationException(
                $"The catalog in database '{c.Database}' has schema version {applied.Max()}; this Coffre knows versions up to {Latest}: run a newer Coffre.");
        foreach (var (version, sql) in Scripts.Where(s => !applied.Contains(s.Version)))
        {
            await ExecuteAsync(c, tx, sql, ct).ConfigureAwait(false);
            await ExecuteAsync(c, tx, $"INSERT INTO catalog.schema_version(version) VALUES ({version})", ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The embedded scripts by number; a gap or a duplicate number is a build mistake, refused at once.</summary>
    private static List<(int, string)> Load()
    {
        var assembly = typeof(CatalogMigrations).Assembly;
        var scripts = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(n =>
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return (Version: int.Parse(n[ResourcePrefix.Length..].Split('_')[0], CultureInfo.InvariantCulture), Sql: reader.ReadToEnd());
            })
            .OrderBy(s => s.Version)
            .ToList();
        if (scripts.Count == 0 || scripts[0].Version != 1 || scripts.Select(s => s.Version).Distinct().Count() != scripts.Count)
            throw new InvalidOperationException($"Catalog migrations must be numbered from 1, each number once; found {string.Join(", ", scripts.Select(s => s.Version))}.");
        return scripts;
    }
}
