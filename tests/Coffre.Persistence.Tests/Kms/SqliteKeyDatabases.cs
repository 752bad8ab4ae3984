using Coffre.Kms.Store;
using Coffre.Sqlite.Kms;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>keys.db in a temporary directory: how the contract suites get SQLite key databases.</summary>
internal static class SqliteKeyDatabases
{
    public static Task<string> NewAsync() =>
        Task.FromResult(Path.Combine(Directory.CreateTempSubdirectory("coffre-sqlite-kms-").FullName, SqliteKeyDatabase.FileName));

    public static IKeyDatabase Create(string path, string deploymentId) => SqliteKeyDatabase.Create(path, deploymentId);

    public static IKeyDatabase Open(string path, string deploymentId) => SqliteKeyDatabase.Open(path, deploymentId);
}
