using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Server.Hosting;
using Coffre.Storage;

namespace Coffre.Server.Tests.Lifecycle;

/// <summary>
/// A data directory with a real key manager (key "default"), catalog, local-disk backend, object
/// store and rewrapper, in this process — no HTTP. Garbage is collectable at once (grace 0) so
/// that tests can race collection against the rewrapper.
/// </summary>
public sealed class LocalObjects : IDisposable
{
    public const string Principal = "tester";

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("coffre-lifecycle-").FullName;
    public KeyManager Keys { get; }
    public ObjectCatalog Catalog { get; }
    public LocalDiskBlobStore Blobs { get; }
    public ObjectStore Store { get; }
    public Rewrapper Rewrapper { get; }

    public LocalObjects(TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        Keys = KeyManager.Initialize(Directory, "lifecycle tests", KmsOptions.InsecureForTests, time);
        Keys.CreateKey("default", null, Principal);
        Catalog = new ObjectCatalog(Path.Combine(Directory, ObjectServices.CatalogFileName));
        Blobs = new LocalDiskBlobStore(Path.Combine(Directory, "objects"));
        var dataKeys = new KmsDataKeyService(Keys);
        Store = new ObjectStore(Catalog, Blobs, dataKeys, new ObjectStoreOptions { GarbageGracePeriod = TimeSpan.Zero }, time);
        Rewrapper = new Rewrapper(Catalog, Blobs, dataKeys, time);
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
        using var reader = Store.Open(Store.GetRecord(bucket, name), Principal);
        using var copy = new MemoryStream();
        await reader.Body.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Every part's blob metadata (what the backend alone holds) agrees with the catalog record.</summary>
    public async Task AssertBlobMetadataMatchesCatalogAsync(ObjectRecord record)
    {
        foreach (var part in record.Parts)
        {
            var head = await Blobs.HeadAsync(part.Blob) ?? throw new Xunit.Sdk.XunitException($"blob of {record.Name} is missing");
            Assert.Equal(record.Key.KeyId, head.Metadata["coffre-key"]);
            Assert.Equal(record.Key.KeyVersion.ToString(), head.Metadata["coffre-key-version"]);
            Assert.Equal(Convert.ToBase64String(record.Key.Wrapped), head.Metadata["coffre-wrapped-key"]);
        }
    }

    public void Dispose()
    {
        Keys.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
