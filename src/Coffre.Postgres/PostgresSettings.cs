using Npgsql;

namespace Coffre.Postgres;

/// <summary>
/// What a deployment's configuration says about its PostgreSQL database: a connection string (Npgsql's keywords:
/// Host, Port, Database, Username, SSL Mode, Root Certificate...), and optionally a file holding the password (a
/// mounted secret), so that the password need not be written in appsettings.json. Npgsql also reads PGPASSWORD and
/// PGPASSFILE from the environment.
/// </summary>
public static class PostgresSettings
{
    /// <summary>The connection string with the password from <paramref name="passwordFile"/>, if one is given.</summary>
    public static string Compose(string connectionString, string? passwordFile)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (passwordFile is not null) builder.Password = File.ReadLines(passwordFile).FirstOrDefault()?.TrimEnd('\r') ?? "";
        return builder.ConnectionString;
    }

    /// <summary>Problems of the settings, each a sentence naming what is wrong; empty when usable. Never repeats a password.</summary>
    public static IReadOnlyList<string> Problems(string connectionString, string? passwordFile)
    {
        var problems = new List<string>();
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            if (string.IsNullOrWhiteSpace(builder.Host)) problems.Add("names no Host.");
            if (string.IsNullOrWhiteSpace(builder.Database)) problems.Add("names no Database.");
            if (passwordFile is not null && builder.Password is not null)
                problems.Add("holds a Password and DatabasePasswordFile is set too: keep the password in one place.");
        }
        catch (ArgumentException e)
        {
            // The message names the keyword, not the value.
            problems.Add($"is not a valid connection string ({e.Message.Split('\'')[0].TrimEnd()}): use Npgsql's keywords, e.g. Host=db;Database=coffre;Username=coffre.");
        }
        if (passwordFile is not null && !File.Exists(passwordFile))
            problems.Add($"DatabasePasswordFile '{passwordFile}' does not exist.");
        return problems;
    }

    /// <summary>
    /// The Npgsql connection string of <paramref name="target"/>: a libpq URI (<c>postgresql://user@host:port/database?sslmode=verify-full</c>,
    /// as `coffre store migrate --to` takes it; parameters sslmode, sslrootcert, application_name, connect_timeout), or
    /// already a connection string. <see cref="ArgumentException"/> names what is wrong, never the password.
    /// </summary>
    public static string FromUriOrConnectionString(string target)
    {
        if (!target.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) && !target.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
            return new NpgsqlConnectionStringBuilder(target).ConnectionString;
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException("is not a PostgreSQL URI: write postgresql://USER@HOST:PORT/DATABASE (the password in PGPASSWORD, PGPASSFILE or the URI).");
        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host.Trim('[', ']'), Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port };
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0) builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0) throw new ArgumentException("names no database: write postgresql://USER@HOST:PORT/DATABASE.");
        builder.Database = database;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = pair.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
                ? (Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..]))
                : (Uri.UnescapeDataString(pair), "");
            switch (name)
            {
                case "sslmode":
                    builder.SslMode = value switch
                    {
                        "disable" => SslMode.Disable, "allow" => SslMode.Allow, "prefer" => SslMode.Prefer, "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA, "verify-full" => SslMode.VerifyFull,
                        _ => throw new ArgumentException($"has sslmode={value}: use disable, allow, prefer, require, verify-ca or verify-full."),
                    };
                    break;
                case "sslrootcert": builder.RootCertificate = value; break;
                case "application_name": builder.ApplicationName = value; break;
                case "connect_timeout" when int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var seconds): builder.Timeout = seconds; break;
                default: throw new ArgumentException($"has the parameter '{name}', which Coffre does not take: use sslmode, sslrootcert, application_name or connect_timeout.");
            }
        }
        return builder.ConnectionString;
    }

    /// <summary>Host, port and database: what a message may show of the settings.</summary>
    public static string Describe(string connectionString) => Kms.PostgresConnections.Describe(connectionString);
}
