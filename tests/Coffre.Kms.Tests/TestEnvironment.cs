using Coffre.Kms.Keys;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Kms.Tests;

/// <summary>A temporary data directory, a fake clock and test-only (fast, insecure) options.</summary>
public sealed class TestEnvironment : IDisposable
{
    public const string Passphrase = "correct horse battery staple";
    public const string Alice = "alice@example.org";

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "coffre-kms-tests", Guid.NewGuid().ToString("N"));
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2025, 3, 1, 9, 0, 0, TimeSpan.Zero));
    public KmsOptions Options { get; }
    private readonly List<KeyManager> _managers = new();

    public TestEnvironment(KmsOptions? options = null) => Options = options ?? KmsOptions.InsecureForTests;

    public string DbPath => Path.Combine(Directory, KeyManager.StoreFileName);
    public string SealPath => Path.Combine(Directory, KeyManager.SealFileName);

    public KeyManager Initialize() => Track(KeyManager.Initialize(Directory, Passphrase, Options, Clock));
    public KeyManager Open() => Track(KeyManager.Open(Directory, Passphrase, Clock, Options));

    private KeyManager Track(KeyManager m)
    {
        _managers.Add(m);
        return m;
    }

    /// <summary>Runs raw SQL on keys.db, as an attacker or a broken disk would.</summary>
    public void Sql(string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public byte[] StoreBytes()
    {
        var bytes = new List<byte>();
        foreach (var f in new[] { DbPath, DbPath + "-wal", DbPath + "-shm" })
            if (File.Exists(f))
            {
                using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var buffer = new MemoryStream();
                s.CopyTo(buffer);
                bytes.AddRange(buffer.ToArray());
            }
        return bytes.ToArray();
    }

    public void Dispose()
    {
        foreach (var m in _managers) m.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    public static IReadOnlyDictionary<string, string> Ctx(params (string, string)[] pairs) => pairs.ToDictionary(p => p.Item1, p => p.Item2);

    public static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
