using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Kms.Store;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>
/// What every contract suite of the key manager's database needs from one implementation: a fresh empty database,
/// further handles on the same one (another process or instance), and key managers over them. One subclass per
/// implementation supplies <see cref="NewDatabaseAsync"/>, <see cref="Create"/> and <see cref="Open"/>.
/// </summary>
public abstract class KeyDatabaseContract : IAsyncLifetime
{
    protected const string Passphrase = "contract tests, not a secret";
    protected const string Alice = "alice@example.org";

    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-kmsdb-").FullName;
    private readonly List<IDisposable> _opened = [];
    private string _location = null!;

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    protected string DeploymentId { get; private set; } = null!;

    /// <summary>The database the test started with.</summary>
    protected IKeyDatabase Database { get; private set; } = null!;

    /// <summary>A key manager over <see cref="Database"/>.</summary>
    protected KeyManager Keys { get; private set; } = null!;

    /// <summary>Where a fresh, empty database is (a file path, a connection string).</summary>
    protected abstract Task<string> NewDatabaseAsync();

    protected abstract IKeyDatabase Create(string location, string deploymentId);

    protected abstract IKeyDatabase Open(string location, string deploymentId);

    public async Task InitializeAsync()
    {
        _location = await NewDatabaseAsync();
        using (var root = SealedFileRoot.Initialize(SealPath, Passphrase, SealOptions.InsecureForTests))
            DeploymentId = root.DeploymentId;
        Database = Track(Create(_location, DeploymentId));
        Keys = NewKeyManager(Database);
    }

    private string SealPath => Path.Combine(_directory, "root.seal");

    /// <summary>Another handle on the same database, as a second process or instance has.</summary>
    protected IKeyDatabase OpenAgain() => Track(Open(_location, DeploymentId));

    protected KeyManager NewKeyManager(IKeyDatabase database) =>
        Track(new KeyManager(SealedFileRoot.Unseal(SealPath, Passphrase, SealOptions.InsecureForTests), database, Clock,
            KmsOptions.InsecureForTests with { AllowShortDestructionDelayForTests = true }));

    private T Track<T>(T disposable) where T : IDisposable
    {
        _opened.Add(disposable);
        return disposable;
    }

    public Task DisposeAsync()
    {
        // Key managers first (they flush their audit records into the databases), then the databases.
        for (var i = _opened.Count - 1; i >= 0; i--) _opened[i].Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }
}
