using System.Globalization;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.Sqlite.Objects;

namespace Coffre.Server.Tests.Lifecycle;

/// <summary>
/// A data directory with a real key manager (key "default"), catalog, backend (local disk unless
/// given one), object store and rewrapper, in this process — no HTTP. Garbage is collectable at
/// once (grace 0) so that tests can race collection against the rewrapper.
/// </summary>
public sealed class LocalObjects : IDisposable
{
    public const string Principal = "tester";

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("coffre-lifecycle-").FullName;
    public Deployment Deployment { get; }
    public KeyManager Keys { get; }
    public IObjectCatalog Catalog { get; }
    public IBlobStore Blobs { get; }
    public ObjectStoreOptions Options { get; } = new() { GarbageGracePeriod = TimeSpan.Zero };
    public ObjectStore Store { get; }
    public Rewrapper Rewrapper { get; }

    /// <param name="blobs">The backend (default: local disk in the data directory), disposed with this.</param>
    /// <param name="rewrapperBlobs">The rewrapper's own view of the backend (a decorator), if it differs.</param>
    public LocalObjects(TimeProvider? time = null, IBlobStore? blobs = null, Func<IBlobStore, IBlobStore>? rewrapperBlobs = null)
    {
        time ??= TimeProvider.System;
        Deployment = Deployment.InitializeAsync(new DeploymentLocation(Directory), "lifecycle tests", KmsOptions.InsecureForTests, time).GetAwaiter().GetResult();
        Keys = Deployment.Keys;
        Keys.CreateKey("default", null, Principal);
        Catalog = Deployment.OpenCatalog(time);
        Blobs = blobs ?? new LocalDiskBlobStore(Path.Combine(Directory, "objects"));
        var dataKeys = new KmsDataKeyService(Keys);
        Store = new ObjectStore(Catalog, Blobs, dataKeys, Options, time);
        Rewrapper = new Rewrapper(Catalog, rewrapperBlobs?.Invoke(Blobs) ?? Blobs, dataKeys, time);
    }

    public static byte[] Content(int i, int generation = 0)
    {
        var random = new Random(i * 31 + generation);
        var bytes = new byte[100 + random.Next(901)];
        random.NextBytes(bytes);
        return bytes;
    }

    public Task PutAsync(string bucket, string name, byte[] body) =>
        Store.PutObjectAsync(new PutObjectCommand(bucket, name, new MemoryStream(body), body.Length, new ObjectMetadata(), Principal));

    public async Task<byte[]> ReadAsync(string bucket, string name)
    {
        using var reader = await Store.OpenAsync(await Store.GetRecordAsync(bucket, name), Principal);
        using var copy = new MemoryStream();
        await reader.Body.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// The wrapped data key the backend alone holds for an object (docs/format.md §5): its sidecar's
    /// when it has one, else the one its part blobs were written with.
    /// </summary>
    public async Task<WrappedKeyRef> BackendWrappedKeyAsync(ObjectRecord record)
    {
        var first = await Blobs.HeadAsync(record.Parts[0].Blob) ?? throw new Xunit.Sdk.XunitException($"blob of {record.Name} is missing");
        var source = (await Blobs.HeadAsync(BlobMetadata.SidecarKey(record.Parts[0].Blob)))?.Metadata ?? first.Metadata;
        return new WrappedKeyRef(source["coffre-key"], int.Parse(source["coffre-key-version"], CultureInfo.InvariantCulture),
            Convert.FromBase64String(source["coffre-wrapped-key"]));
    }

    /// <summary>What the backend alone holds (sidecar, else part blobs) agrees with the catalog record.</summary>
    public async Task AssertBackendKeyMatchesCatalogAsync(ObjectRecord record)
    {
        var key = await BackendWrappedKeyAsync(record);
        Assert.Equal(record.Key.KeyId, key.KeyId);
        Assert.Equal(record.Key.KeyVersion, key.KeyVersion);
        Assert.Equal(record.Key.Wrapped, key.Wrapped);
    }

    public void Dispose()
    {
        (Blobs as IDisposable)?.Dispose();
        Deployment.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
