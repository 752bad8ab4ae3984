using System.Globalization;
using System.Reflection;
using Npgsql;

namespace Coffre.Postgres;

/// <summary>
/// Schema migrations kept in the repository: numbered SQL files (<c>0001_name.sql</c>, ...) embedded in this assembly
/// under a component's folder (<c>Kms/Migrations</c>, <c>Objects/Migrations</c>). Applied in order, each in its own
/// transaction, under a session advisory lock so that instances starting together apply each one once, and recorded in
/// <c>schema_version</c> (component, version, name, applied). A database newer than this Coffre is refused.
/// </summary>
public static class PostgresMigrations
{
    // Arbitrary constant shared by every Coffre instance: "coffre:migrations".
    private const long LockKey = 0x636f_6666_7265_6d67;

    /// <summary>The migrations of <paramref name="component"/>, by version.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Of(string component)
    {
        var assembly = typeof(PostgresMigrations).Assembly;
        var prefix = $"{assembly.GetName().Name}.{component}.Migrations.";
        var list = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            var name = resource[prefix.Length..^4];
            var version = int.Parse(name[..name.IndexOf('_', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            list.Add((version, name, reader.ReadToEnd()));
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    /// <summary>Applies the migrations of <paramref name="component"/> that the database lacks; returns its version.</summary>
    public static int Apply(NpgsqlDataSource dataSource, string component)
    {
        var migrations = Of(component);
        using var c = dataSource.OpenConnection();
        Exec(c, null, $"SELECT pg_advisory_lock({LockKey})");
        try
        {
            Exec(c, null, """
                CREATE TABLE IF NOT EXISTS schema_version (
                    component text NOT NULL, version integer NOT NULL, name text NOT NULL,
                    applied timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))
                """);
            int current;
            using (var cmd = new NpgsqlCommand("SELECT COALESCE(max(version), 0) FROM schema_version WHERE component = @c", c))
            {
                cmd.Parameters.AddWithValue("c", component);
                current = (int)cmd.ExecuteScalar()!;
            }
            var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
            if (current > latest)
                throw new InvalidOperationException(
                    $"The database's {component} schema is at version {current}; this Coffre knows up to {latest}. Upgrade Coffre.");
            foreach (var (version, name, sql) in migrations.Where(m => m.Version > current))
            {
                using var tx = c.BeginTransaction();
                Exec(c, tx, sql);
                using (var cmd = new NpgsqlCommand("INSERT INTO schema_version (component, version, name) VALUES (@c, @v, @n)", c, tx))
                {
                    cmd.Parameters.AddWithValue("c", component);
                    cmd.Parameters.AddWithValue("v", version);
                    cmd.Parameters.AddWithValue("n", name);
                    cmd.ExecuteNonQuery();
                }
                tx.Commit();
                current = version;
            }
            return current;
        }
        finally
        {
            Exec(c, null, $"SELECT pg_advisory_unlock({LockKey})");
        }
    }

    private static void Exec(NpgsqlConnection c, NpgsqlTransaction? tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        cmd.ExecuteNonQuery();
    }
}
