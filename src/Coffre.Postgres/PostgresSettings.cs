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

    /// <summary>Host, port and database: what a message may show of the settings.</summary>
    public static string Describe(string connectionString) => Kms.PostgresConnections.Describe(connectionString);
}
