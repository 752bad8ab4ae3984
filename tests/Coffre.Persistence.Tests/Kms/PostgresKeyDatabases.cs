using Coffre.Kms.Store;
using Coffre.Postgres.Kms;
using Coffre.TestSupport;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>A fresh database on the tests' real PostgreSQL server: how the contract suites get PostgreSQL key databases.</summary>
internal static class PostgresKeyDatabases
{
    public static Task<string> NewAsync() => PostgresServer.CreateSharedDatabaseAsync();

    public static IKeyDatabase Create(string connectionString, string deploymentId) => PostgresKeyDatabase.Create(connectionString, deploymentId);

    public static IKeyDatabase Open(string connectionString, string deploymentId) => PostgresKeyDatabase.Open(connectionString, deploymentId);
}
