using System.Security.Cryptography;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Storage;
using Microsoft.Extensions.Time.Testing;
using Coffre.Sqlite.Objects;

namespace Coffre.Objects.Tests;

/// <summary>An in-memory data key service: random data keys, "wrapped" as an id bound to the wrap context.</summary>
internal sealed class FakeDataKeys : IDataKeyService
{
    private readonly Dictionary<string, (byte[] Key, string Context)> _keys = new();

    private static string Context(IReadOnlyDictionary<string, string> c) => string.Join("|", c.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value));

    public DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal, IReadOnlyDictionary<string, string>? recorded = null)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var id = RandomNumberGenerator.GetBytes(16);
        lock (_keys) _keys[Convert.ToHexString(id)] = ((byte[])key.Clone(), Context(context));
        return new DataKeyGrant(key, new WrappedKeyRef("test-key", 1, id));
    }

    public Task<byte[]> UnwrapDataKeyAsync(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal) =>
        Task.FromResult(Unwrap(wrapped, context));

    private byte[] Unwrap(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context)
    {
        lock (_keys)
        {
            if (!_keys.TryGetValue(Convert.ToHexString(wrapped.Wrapped), out var k) || k.Context != Context(context))
                throw new ObjectStoreException(ObjectError.IntegrityFailure, "unwrap failed");
            return (byte[])k.Key.Clone();
        }
    }

    public WrappedKeyRef RewrapDataKey(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal)
    {
        var key = Unwrap(wrapped, context);
        var id = RandomNumberGenerator.GetBytes(16);
        lock (_keys) _keys[Convert.ToHexString(id)] = (key, Context(context));
        return new WrappedKeyRef("test-key", PrimaryVersion("test-key"), id);
    }

    public string ResolveKeyId(string keyRef) => "test-key";

    public int PrimaryVersion(string keyRef) => 1;

    public bool IsEnabled(string keyRef) => true;
}

/// <summary>An object store over a temporary directory: SQLite catalog, local-disk blobs, fake clock.</summary>
internal sealed class TestStore : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("coffre-objects-").FullName;
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
    public SqliteObjectCatalog Catalog { get; }
    public LocalDiskBlobStore Blobs { get; }
    public ObjectStore Store { get; }
    public ObjectStoreOptions Options { get; } = new();
    public FakeDataKeys Keys { get; } = new();

    public TestStore()
    {
        Catalog = SqliteObjectCatalog.Open(Path.Combine(Directory, "catalog.db"), Time);
        Blobs = new LocalDiskBlobStore(Path.Combine(Directory, "objects"));
        Store = new ObjectStore(Catalog, Blobs, Keys, Options, Time);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
