using Coffre.Kms.Keys;
using Coffre.Server.Hosting;
using Coffre.Sqlite.Kms;
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
    private readonly List<Deployment> _deployments = new();

    public TestEnvironment(KmsOptions? options = null) => Options = options ?? KmsOptions.InsecureForTests;

    public string DbPath => Path.Combine(Directory, SqliteKeyDatabase.FileName);
    public string SealPath => Path.Combine(Directory, Deployment.SealFileName);
    public DeploymentLocation Location => new(Directory);

    /// <summary>The deployment of the last <see cref="Initialize"/> or <see cref="Open"/>.</summary>
    public Deployment Deployment => _deployments[^1];

    public KeyManager Initialize() => Track(Deployment.InitializeAsync(Location, Passphrase, Options, Clock).GetAwaiter().GetResult()).Keys;
    public KeyManager Open() => Track(Deployment.Open(Location, Passphrase, Options, Clock)).Keys;

    /// <summary>A deployment whose root opens with <paramref name="threshold"/> of <paramref name="shares"/> Shamir shares.</summary>
    public (KeyManager Keys, IReadOnlyList<string> Shares) InitializeShamir(int shares, int threshold)
    {
        var (deployment, issued) = Deployment.InitializeShamirAsync(Location, shares, threshold, Options, Clock).GetAwaiter().GetResult();
        return (Track(deployment).Keys, issued);
    }

    /// <summary>Opens with a root already unsealed (e.g. by a RootUnsealer).</summary>
    public KeyManager Open(Coffre.Kms.Root.IRootOfTrust root) => Track(Deployment.Open(Location, root, Options, Clock)).Keys;

    /// <summary>Opens with no root attached: sealed.</summary>
    public KeyManager OpenSealed() => Track(Deployment.OpenSealedAsync(Location, Options, Clock).GetAwaiter().GetResult()).Keys;

    private Deployment Track(Deployment d)
    {
        _deployments.Add(d);
        return d;
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
        foreach (var d in _deployments) d.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    public static IReadOnlyDictionary<string, string> Ctx(params (string, string)[] pairs) => pairs.ToDictionary(p => p.Item1, p => p.Item2);

    public static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
