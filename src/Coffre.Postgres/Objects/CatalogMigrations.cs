using System.Globalization;
using Npgsql;

namespace Coffre.Postgres.Objects;

/// <summary>
/// The catalog's schema, versioned in the repository: numbered SQL files (Objects/Migrations/NNNN_*.sql, embedded in
/// the assembly) applied in order, each in the transaction that records it in <c>catalog.schema_version</c>, under
/// an advisory lock so that several instances starting at once apply each migration exactly once.
/// </summary>
internal static class CatalogMigrations
{
    /// <summary>The advisory lock of catalog migrations ("CoffreCa" in ASCII): any constant, the same in every instance.</summary>
    private const long LockId = 0x436F_6666_7265_4361;
    private const string ResourcePrefix = "catalog-migrations/";

    public static IReadOnlyList<(int Version, string Sql)> Scripts { get; } = Load();

    public static int Latest => Scripts[^1].Version;

    public static async Task ApplyAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await ExecuteAsync(c, tx, $"SELECT pg_advisory_xact_lock({LockId})", ct).ConfigureAwait(false);
        await ExecuteAsync(c, tx, """
            CREATE SCHEMA IF NOT EXISTS catalog;
            CREATE TABLE IF NOT EXISTS catalog.schema_version(version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now());
            """, ct).ConfigureAwait(false);
        await using (var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM catalog.schema_version", c, tx))
        {
            var applied = Convert.ToInt32(await read.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (applied > Latest)
                throw new InvalidOperationException(
                    $"The catalog in database '{c.Database}' has schema version {applied}; this Coffre knows versions up to {Latest}: run a newer Coffre.");
            foreach (var (version, sql) in Scripts.Where(s => s.Version > applied))
            {
                await ExecuteAsync(c, tx, sql, ct).ConfigureAwait(false);
                await ExecuteAsync(c, tx, $"INSERT INTO catalog.schema_version(version) VALUES ({version})", ct).ConfigureAwait(false);
            }
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
        for (var i = 0; i < scripts.Count; i++)
            if (scripts[i].Version != i + 1)
                throw new InvalidOperationException($"Catalog migrations must be numbered 1, 2, 3...; found {string.Join(", ", scripts.Select(s => s.Version))}.");
        return scripts;
    }
}
