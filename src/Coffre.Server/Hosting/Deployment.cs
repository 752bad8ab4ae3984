using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Kms.Store;
using Coffre.Objects.Catalog;
using Coffre.Postgres;
using Coffre.Postgres.Kms;
using Coffre.Postgres.Objects;
using Coffre.Sqlite.Kms;
using Coffre.Sqlite.Objects;
using Coffre.Storage.Placement;

namespace Coffre.Server.Hosting;

/// <summary>Where a deployment keeps its state: a data directory (root.seal, and SQLite files unless
/// <paramref name="Database"/> names a PostgreSQL database for keys, audit trail and access keys).</summary>
/// <param name="Database">Npgsql connection string (<c>Coffre:Database</c>), or null for SQLite in the data directory.</param>
public sealed record DeploymentLocation(string DataDirectory, string? Database = null)
{
    /// <summary>Where the configuration puts the deployment of <paramref name="dataDirectory"/> (<c>Coffre:Database</c>,
    /// with the password from <c>Coffre:DatabasePasswordFile</c>).</summary>
    public static DeploymentLocation Of(CoffreServerOptions options, string dataDirectory) =>
        new(dataDirectory, options.Database is { } database ? PostgresSettings.Compose(database, options.DatabasePasswordFile) : null);

    /// <summary>Never the connection string: it may hold a password.</summary>
    public override string ToString() => Database is null ? DataDirectory : $"{DataDirectory} and the {PostgresSettings.Describe(Database)}";
}

/// <summary>
/// The one composition root of persistence, used by <c>coffre serve</c>, every CLI command and the tests: opens a
/// deployment's root of trust, its key database (keys, audit chain and checkpoints, access keys) and its object
/// catalog, and composes the key manager over them. Nothing else constructs a store. Disposing it closes all of them.
/// </summary>
public sealed partial class Deployment : IDisposable
{
    public const string SealFileName = "root.seal";

    private readonly IKeyDatabase _database;
    private readonly TimeProvider _time;
    private readonly DataDirectoryLock _directoryLock;

    private Deployment(DeploymentLocation location, IKeyDatabase database, KeyManager keys, TimeProvider time, DataDirectoryLock directoryLock)
    {
        Location = location;
        _database = database;
        Keys = keys;
        _time = time;
        _directoryLock = directoryLock;
        // Every way a key is destroyed (CLI, KMS face, the maintenance pass) asks the catalog about locked versions first.
        keys.DestructionGuard = new ObjectLockDestructionGuard(() => OpenCatalogIfAny(location, time), time);
    }

    public DeploymentLocation Location { get; }
    public string DataDirectory => Location.DataDirectory;
    public KeyManager Keys { get; }
    public IKeyDatabase Database => _database;
    public IAuditLog Audit => _database.Audit;
    public IAccessKeyStore AccessKeys => _database.AccessKeys;

    /// <summary>Whether <paramref name="dataDirectory"/> holds a deployment (its root seal).</summary>
    public static bool IsInitialized(string dataDirectory) => File.Exists(Path.Combine(dataDirectory, SealFileName));

    /// <summary>Creates a deployment: root.seal sealed under <paramref name="passphrase"/>, an empty key database, the
    /// first audit record. Refuses a data directory (or database) that already holds one.</summary>
    public static Task<Deployment> InitializeAsync(DeploymentLocation location, string passphrase, KmsOptions? options = null, TimeProvider? time = null)
    {
        options ??= KmsOptions.Default;
        return InitializeAsync(location, sealPath => SealedFileRoot.Initialize(sealPath, passphrase, options.Seal, time), options, time);
    }

    /// <summary>Creates a deployment whose root seal opens with <paramref name="threshold"/> of <paramref name="shares"/>
    /// Shamir shares (docs/format.md §6.5); returns the shares' text, which is stored nowhere: hand each out once.</summary>
    public static async Task<(Deployment Deployment, IReadOnlyList<string> Shares)> InitializeShamirAsync(DeploymentLocation location,
        int shares, int threshold, KmsOptions? options = null, TimeProvider? time = null)
    {
        IReadOnlyList<string> issued = [];
        var deployment = await InitializeAsync(location, sealPath =>
        {
            var (root, texts) = SealedFileRoot.InitializeShamir(sealPath, shares, threshold, time);
            issued = texts;
            return root;
        }, options ?? KmsOptions.Default, time).ConfigureAwait(false);
        return (deployment, issued);
    }

    /// <summary>Creates a deployment whose root key is generated inside a PKCS#11 HSM (non-extractable; docs/format.md
    /// §6.6): root.seal only says where it is. The key label must not exist on the token yet.</summary>
    public static Task<Deployment> InitializeHsmAsync(DeploymentLocation location, string module, string tokenLabel, string keyLabel, string pin,
        KmsOptions? options = null, TimeProvider? time = null)
    {
        var now = time ?? TimeProvider.System;
        return InitializeAsync(location, sealPath => Pkcs11Root.Initialize(sealPath, module, tokenLabel, keyLabel, pin, now),
            options ?? KmsOptions.Default, time);
    }

    private static async Task<Deployment> InitializeAsync(DeploymentLocation location, Func<string, IRootOfTrust> createRoot, KmsOptions options, TimeProvider? time)
    {
        time ??= TimeProvider.System;
        Directory.CreateDirectory(location.DataDirectory);
        var sealPath = Path.Combine(location.DataDirectory, SealFileName);
        if (File.Exists(sealPath) || (location.Database is null && File.Exists(SqlitePath(location))))
            throw new KmsException(KmsError.AlreadyInitialized,
                $"{Path.GetFullPath(location.DataDirectory)} already holds a Coffre key manager; open it instead (initializing again would lose every key).");
        var directoryLock = DataDirectoryLock.ForUse(location.DataDirectory);
        IRootOfTrust root;
        try
        {
            root = createRoot(sealPath);
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
        Deployment deployment;
        try
        {
            deployment = Compose(location, root, () => location.Database is { } database
                ? PostgresKeyDatabase.Create(database, root.DeploymentId)
                : SqliteKeyDatabase.Create(SqlitePath(location), root.DeploymentId), options, time, directoryLock);
        }
        catch
        {
            // A seal without its key database would make the directory look initialized: take it back.
            File.Delete(sealPath);
            throw;
        }
        try
        {
            await deployment.Keys.RecordInitializedAsync().ConfigureAwait(false);
        }
        catch
        {
            deployment.Dispose();
            throw;
        }
        return deployment;
    }

    /// <summary>Unseals the root of trust, opens the key database and destroys keys whose destruction is due.</summary>
    public static Deployment Open(DeploymentLocation location, ReadOnlySpan<char> passphrase, KmsOptions? options = null, TimeProvider? time = null)
    {
        options ??= KmsOptions.Default;
        return Open(location, SealedFileRoot.Unseal(Path.Combine(location.DataDirectory, SealFileName), passphrase, options.Seal), options, time);
    }

    /// <summary>Opens the key database with a root already unsealed (e.g. by a <see cref="RootUnsealer"/>) and destroys
    /// keys whose destruction is due. Takes ownership of <paramref name="root"/>.</summary>
    public static Deployment Open(DeploymentLocation location, IRootOfTrust root, KmsOptions? options = null, TimeProvider? time = null)
    {
        DataDirectoryLock directoryLock;
        try
        {
            directoryLock = DataDirectoryLock.ForUse(location.DataDirectory);
        }
        catch
        {
            root.Dispose();
            throw;
        }
        return Open(location, root, directoryLock, options, time);
    }

    /// <summary><see cref="Open(DeploymentLocation, IRootOfTrust, KmsOptions?, TimeProvider?)"/> under a lock the caller took
    /// (a root migration's exclusive lock); the deployment owns it from here.</summary>
    private static Deployment Open(DeploymentLocation location, IRootOfTrust root, DataDirectoryLock directoryLock, KmsOptions? options, TimeProvider? time)
    {
        options ??= KmsOptions.Default;
        time ??= TimeProvider.System;
        var deployment = Compose(location, root, () => OpenDatabase(location, root.DeploymentId), options, time, directoryLock);
        try
        {
            deployment.Keys.DestroyDueKeys(KeyManager.SystemPrincipal);
        }
        catch
        {
            deployment.Dispose();
            throw;
        }
        return deployment;
    }

    /// <summary>Opens the key database with no root attached: the key manager answers every key use with
    /// <see cref="KmsError.Sealed"/> until unsealed (the deployment id comes from root.seal, read but not opened).</summary>
    public static async Task<Deployment> OpenSealedAsync(DeploymentLocation location, KmsOptions? options = null, TimeProvider? time = null)
    {
        options ??= KmsOptions.Default;
        time ??= TimeProvider.System;
        var deploymentId = RootSealFile.Read(Path.Combine(location.DataDirectory, SealFileName), options.Seal).DeploymentId;
        var directoryLock = DataDirectoryLock.ForUse(location.DataDirectory);
        IKeyDatabase? database = null;
        try
        {
            database = OpenDatabase(location, deploymentId);
            return new Deployment(location, database, await KeyManager.CreateSealedAsync(database, time, options).ConfigureAwait(false), time, directoryLock);
        }
        catch
        {
            database?.Dispose();
            directoryLock.Dispose();
            throw;
        }
    }

    private static Deployment Compose(DeploymentLocation location, IRootOfTrust root, Func<IKeyDatabase> openDatabase, KmsOptions options, TimeProvider time,
        DataDirectoryLock directoryLock)
    {
        IKeyDatabase? database = null;
        try
        {
            database = openDatabase();
            return new Deployment(location, database, new KeyManager(root, database, time, options), time, directoryLock);
        }
        catch
        {
            database?.Dispose();
            root.Dispose();
            directoryLock.Dispose();
            throw;
        }
    }

    private static IKeyDatabase OpenDatabase(DeploymentLocation location, string deploymentId) => location.Database is { } database
        ? PostgresKeyDatabase.Open(database, deploymentId)
        : SqliteKeyDatabase.Open(SqlitePath(location), deploymentId);

    private static string SqlitePath(DeploymentLocation location) => Path.Combine(location.DataDirectory, SqliteKeyDatabase.FileName);

    /// <summary>The object catalog of this deployment. The one place it is opened.</summary>
    public IObjectCatalog OpenCatalog(TimeProvider? time = null) => OpenCatalog(Location, time ?? _time);

    /// <summary>The object catalog of <paramref name="location"/> without opening keys (commands that need no key, such
    /// as `coffre repair`), or null when a data directory has none yet.</summary>
    public static IObjectCatalog? OpenCatalogIfAny(DeploymentLocation location, TimeProvider time) =>
        location.Database is null && !File.Exists(Path.Combine(location.DataDirectory, ObjectServices.CatalogFileName))
            ? null
            : OpenCatalog(location, time);

    private static IObjectCatalog OpenCatalog(DeploymentLocation location, TimeProvider time)
    {
        if (location.Database is not { } database)
            return SqliteObjectCatalog.Open(Path.Combine(location.DataDirectory, ObjectServices.CatalogFileName), time);
#pragma warning disable VSTHRD002 // once per process, at start-up or in a CLI command, never on a request path
        return PostgresObjectCatalog.OpenAsync(database, time).GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    /// <summary>The bucket placement states (`coffre migrate`) of <paramref name="location"/>, in its catalog database
    /// (creating the table, and in a data directory the catalog file, if missing). Opening needs no key.</summary>
    public static IPlacementStateStore OpenPlacementStates(DeploymentLocation location) =>
        InCatalogDatabase<IPlacementStateStore>(location, SqlitePlacementStateStore.Open, async c => await PostgresPlacementStateStore.OpenAsync(c).ConfigureAwait(false));

    /// <summary>The record of which backends hold each blob (<see cref="IBlobCopyStore"/>), in the catalog database of
    /// <paramref name="location"/> (creating the table, and in a data directory the catalog file, if missing). Needs no key.</summary>
    public static IBlobCopyStore OpenBlobCopies(DeploymentLocation location) =>
        InCatalogDatabase<IBlobCopyStore>(location, SqliteBlobCopyStore.Open, async c => await PostgresBlobCopyStore.OpenAsync(c).ConfigureAwait(false));

    /// <summary>A store beside the catalog: in the data directory's catalog file (created if missing), or in PostgreSQL.</summary>
    private static T InCatalogDatabase<T>(DeploymentLocation location, Func<string, T> sqlite, Func<string, Task<T>> postgres)
    {
        if (location.Database is not { } database)
        {
            Directory.CreateDirectory(location.DataDirectory);
            return sqlite(Path.Combine(location.DataDirectory, ObjectServices.CatalogFileName));
        }
#pragma warning disable VSTHRD002 // once per process, at start-up or in a CLI command, never on a request path
        return postgres(database).GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
    }

    /// <summary>The placement states when the deployment has a catalog (reports and listings create none).</summary>
    public static IPlacementStateStore? OpenPlacementStatesIfAny(DeploymentLocation location) =>
        location.Database is null && !File.Exists(Path.Combine(location.DataDirectory, ObjectServices.CatalogFileName)) ? null : OpenPlacementStates(location);

    /// <summary>Whether this deployment has an object catalog yet (none before the first bucket in a data directory; always
    /// in a database): reports do not create one.</summary>
    public bool HasCatalog => Location.Database is not null || File.Exists(Path.Combine(DataDirectory, ObjectServices.CatalogFileName));

    /// <summary>Flushes the pending audit records, then closes the key manager, its root of trust and the database.</summary>
    public void Dispose()
    {
        Keys.Dispose();
        _database.Dispose();
        _directoryLock.Dispose();
    }

    public override string ToString() => $"Deployment({Location})";
}
