using System.Security.Cryptography;
using Coffre.Kms;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Server.Tests.Lifecycle;

/// <summary>
/// A rewrap writes the new wrapped data key into one empty sidecar blob per object and leaves the
/// part blobs as they were uploaded (docs/format.md §5): its cost does not depend on the object's
/// size. The sidecar is garbage with its object, and a rewrap that loses a race to an overwrite or
/// a delete leaves no orphan. One subclass per backend.
/// </summary>
public abstract class SidecarTests
{
    private const string Bucket = "data";
    private const string Principal = LocalObjects.Principal;

    /// <summary>The environment's clock: advanced before each collection, so that garbage is past its (zero) grace period.</summary>
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    /// <summary>A fresh environment on this backend (its own bucket or directory).</summary>
    protected abstract Task<LocalObjects> CreateAsync(TimeProvider time, Func<IBlobStore, IBlobStore>? rewrapperBlobs);

    private async Task<LocalObjects> CreateWithBucketAsync(Func<IBlobStore, IBlobStore>? rewrapperBlobs = null)
    {
        var env = await CreateAsync(_clock, rewrapperBlobs);
        env.Options.MinimumPartSize = 1;
        await env.Store.CreateBucketAsync(Bucket, Principal);
        return env;
    }

    private static byte[] Content(int seed, int size)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<ObjectRecord> PutMultipartAsync(LocalObjects env, string name, byte[] body, int parts)
    {
        var upload = await env.Store.CreateUploadAsync(Bucket, name, new ObjectMetadata(), Principal);
        var size = body.Length / parts;
        var etags = new List<(int, string)>();
        for (var i = 0; i < parts; i++)
        {
            var length = i == parts - 1 ? body.Length - i * size : size;
            var part = await env.Store.UploadPartAsync(new UploadPartCommand(Bucket, name, upload.UploadId, i + 1,
                new MemoryStream(body, i * size, length, writable: false), length, Principal));
            etags.Add((i + 1, part.Md5Hex));
        }
        return await env.Store.CompleteUploadAsync(Bucket, name, upload.UploadId, etags, Principal);
    }

    /// <summary>Every blob the backend holds but manifests: length, SHA-256 of the body, metadata.</summary>
    private static async Task<Dictionary<string, (long Length, string Sha256, IReadOnlyDictionary<string, string> Metadata)>> SnapshotAsync(IBlobStore blobs)
    {
        var snapshot = new Dictionary<string, (long, string, IReadOnlyDictionary<string, string>)>(StringComparer.Ordinal);
        await foreach (var entry in blobs.ListAsync())
        {
            if (entry.Key.EndsWith(Objects.Manifests.ObjectManifest.Suffix, StringComparison.Ordinal)) continue; // rewritten by a rewrap, by design (§12)
            await using var read = await blobs.GetAsync(entry.Key);
            snapshot[entry.Key] = (read.TotalLength, Convert.ToHexString(await SHA256.HashDataAsync(read.Content)), read.Metadata);
        }
        return snapshot;
    }

    /// <summary>What the backend must hold: the current objects' parts and manifests, and the sidecars of those given.</summary>
    private static async Task AssertBackendHoldsExactlyAsync(LocalObjects env, params string[] rewrapped)
    {
        var expected = new List<string>();
        foreach (var entry in (await env.Store.ListAsync(Bucket, "", null, null, 1000)).Entries)
            expected.AddRange([.. entry.Record!.Parts.Select(p => p.Blob), Objects.Manifests.ObjectManifest.KeyOf(entry.Record.Parts[0].Blob)]);
        foreach (var name in rewrapped)
            expected.Add(BlobMetadata.SidecarKey((await env.Store.GetRecordAsync(Bucket, name)).Parts[0].Blob));
        var listed = await env.Blobs.ListAsync().Select(e => e.Key).ToListAsync();
        Assert.Equal(expected.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.Empty(await env.Catalog.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
    }

    private Task<int> CollectGarbageAsync(LocalObjects env)
    {
        _clock.Advance(TimeSpan.FromSeconds(1));
        return env.Store.CollectGarbageAsync();
    }

    private static byte[] Unwrap(LocalObjects env, string name, WrappedKeyRef key) =>
        new KmsDataKeyService(env.Keys).UnwrapDataKeyAsync(key, ObjectBinding.WrapContext(Bucket, name), Principal).GetAwaiter().GetResult();

    [Fact]
    public async Task Rewrap_writes_one_sidecar_per_object_and_leaves_every_part_blob_as_uploaded()
    {
        using var env = await CreateWithBucketAsync();
        var single = Content(1, 300_000);
        var multi = Content(2, 250_000);
        await env.PutAsync(Bucket, "single", single);
        await PutMultipartAsync(env, "multi", multi, parts: 3);
        var before = await SnapshotAsync(env.Blobs);
        Assert.Equal(4, before.Count);
        var dataKeys = new Dictionary<string, byte[]>();
        foreach (var n in new[] { "single", "multi" }) dataKeys[n] = Unwrap(env, n, (await env.Store.GetRecordAsync(Bucket, n)).Key);

        env.Keys.RotateKey("default", Principal);
        Assert.Equal(new RewrapResult(2, 0, 0), await env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper"));

        var after = await SnapshotAsync(env.Blobs);
        foreach (var (blob, state) in before)
        {
            // Same bytes, same metadata (still the version the part was uploaded with).
            Assert.Equal(state.Length, after[blob].Length);
            Assert.Equal(state.Sha256, after[blob].Sha256);
            Assert.Equal(state.Metadata, after[blob].Metadata);
            Assert.Equal("1", after[blob].Metadata["coffre-key-version"]);
        }
        foreach (var name in new[] { "single", "multi" })
        {
            var record = await env.Store.GetRecordAsync(Bucket, name);
            Assert.Equal(2, record.Key.KeyVersion);
            // Exactly one sidecar per object, named after its first part, whatever its number of parts.
            var sidecar = after[BlobMetadata.SidecarKey(record.Parts[0].Blob)];
            Assert.Equal(0, sidecar.Length);
            Assert.Equal(BlobMetadata.Sidecar(record.Key, record.Parts.Count), sidecar.Metadata);
            await env.AssertBackendKeyMatchesCatalogAsync(record);
            Assert.Equal(dataKeys[name], Unwrap(env, name, await env.BackendWrappedKeyAsync(record)));
        }
        Assert.Equal(before.Count + 2, after.Count);

        // Version 1 retired and disabled: the objects still read, and the sidecar is what makes the
        // backend self-sufficient, since the parts' own wrapped keys no longer unwrap.
        env.Keys.SetMinimumDecryptionVersion("default", 2, Principal);
        env.Keys.DisableKeyVersion("default", 1, Principal);
        Assert.Equal(single, await env.ReadAsync(Bucket, "single"));
        Assert.Equal(multi, await env.ReadAsync(Bucket, "multi"));
        var firstPart = after[(await env.Store.GetRecordAsync(Bucket, "single")).Parts[0].Blob].Metadata;
        var partKey = new WrappedKeyRef(firstPart["coffre-key"], 1, Convert.FromBase64String(firstPart["coffre-wrapped-key"]));
        Assert.IsType<KmsException>(Assert.Throws<ObjectStoreException>(() => Unwrap(env, "single", partKey)).InnerException);
    }

    [Fact]
    public async Task Deleting_or_replacing_a_rewrapped_object_makes_its_sidecar_garbage_and_collection_leaves_no_orphan()
    {
        using var env = await CreateWithBucketAsync();
        await env.PutAsync(Bucket, "deleted", Content(3, 1000));
        await env.PutAsync(Bucket, "replaced", Content(4, 1000));
        await PutMultipartAsync(env, "kept", Content(5, 3000), parts: 2);
        env.Keys.RotateKey("default", Principal);
        Assert.Equal(new RewrapResult(3, 0, 0), await env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper"));
        await AssertBackendHoldsExactlyAsync(env, "deleted", "replaced", "kept");

        await env.Store.DeleteObjectAsync(Bucket, "deleted");
        var replacement = Content(6, 2000);
        await env.PutAsync(Bucket, "replaced", replacement);
        Assert.Equal(6, await CollectGarbageAsync(env)); // two parts, two sidecars, two manifests

        // The replacement was written under version 2: no sidecar until the next rotation.
        await AssertBackendHoldsExactlyAsync(env, "kept");
        Assert.Equal(replacement, await env.ReadAsync(Bucket, "replaced"));
        await env.AssertBackendKeyMatchesCatalogAsync(await env.Store.GetRecordAsync(Bucket, "replaced"));
        await env.AssertBackendKeyMatchesCatalogAsync(await env.Store.GetRecordAsync(Bucket, "kept"));
    }

    /// <summary>
    /// The object is deleted or overwritten, and its blobs collected, while the rewrapper writes its sidecar:
    /// before the sidecar PUT lands (collection finds nothing, the rewrapper removes what it wrote once its
    /// compare-and-swap fails) or after (collection removes it).
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task An_object_replaced_or_deleted_during_its_rewrap_leaves_no_orphan_sidecar(bool replace, bool sidecarLandsFirst)
    {
        SidecarGate? gate = null;
        using var env = await CreateWithBucketAsync(inner => gate = new SidecarGate(inner, sidecarLandsFirst));
        var victim = await env.Store.PutObjectAsync(new PutObjectCommand(Bucket, "victim", new MemoryStream(Content(7, 5000)), 5000, new ObjectMetadata(), Principal));
        await env.PutAsync(Bucket, "bystander", Content(8, 5000));
        gate!.Target = BlobMetadata.SidecarKey(victim.Parts[0].Blob);
        env.Keys.RotateKey("default", Principal);

        var rewrap = Task.Run(() => env.Rewrapper.RunAsync(new RewrapRequest(), "rewrapper"));
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var replacement = Content(9, 700);
        if (replace) await env.PutAsync(Bucket, "victim", replacement);
        else await env.Store.DeleteObjectAsync(Bucket, "victim");
        Assert.Equal(3, await CollectGarbageAsync(env)); // the victim's part, sidecar and manifest keys
        gate.Release.SetResult();

        Assert.Equal(new RewrapResult(1, 1, 0), await rewrap);
        Assert.Equal(0, await CollectGarbageAsync(env));
        await AssertBackendHoldsExactlyAsync(env, "bystander");
        if (replace)
        {
            Assert.Equal(replacement, await env.ReadAsync(Bucket, "victim"));
            await env.AssertBackendKeyMatchesCatalogAsync(await env.Store.GetRecordAsync(Bucket, "victim"));
        }
    }

    [Fact]
    public async Task A_rewrapper_that_loses_to_another_on_the_same_object_leaves_a_valid_sidecar()
    {
        SidecarGate? gate = null;
        using var env = await CreateWithBucketAsync(inner => gate = new SidecarGate(inner, landsFirst: false));
        var body = Content(10, 4000);
        var record = await env.Store.PutObjectAsync(new PutObjectCommand(Bucket, "contested", new MemoryStream(body), body.Length, new ObjectMetadata(), Principal));
        var dataKey = Unwrap(env, "contested", record.Key);
        gate!.Target = BlobMetadata.SidecarKey(record.Parts[0].Blob);
        env.Keys.RotateKey("default", Principal);

        // The gated rewrapper waits at its sidecar PUT while another one does the whole object.
        var loser = Task.Run(() => env.Rewrapper.RunAsync(new RewrapRequest(), "loser"));
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var winner = new Rewrapper(env.Catalog, env.Blobs, new KmsDataKeyService(env.Keys), TimeProvider.System);
        Assert.Equal(new RewrapResult(1, 0, 0), await winner.RunAsync(new RewrapRequest(), "winner"));
        gate.Release.SetResult();
        Assert.Equal(new RewrapResult(0, 1, 0), await loser);

        // The loser's sidecar (written last) stays: another wrap of the same data key under version 2.
        var current = await env.Store.GetRecordAsync(Bucket, "contested");
        var backendKey = await env.BackendWrappedKeyAsync(current);
        Assert.Equal(2, backendKey.KeyVersion);
        Assert.Equal(dataKey, Unwrap(env, "contested", backendKey));
        Assert.Equal(dataKey, Unwrap(env, "contested", current.Key));
        Assert.Equal(body, await env.ReadAsync(Bucket, "contested"));
        await AssertBackendHoldsExactlyAsync(env, "contested");
    }

    /// <summary>Holds the PUT of one sidecar (<see cref="Target"/>) until released: before it reaches the backend, or just after.</summary>
    private sealed class SidecarGate(IBlobStore inner, bool landsFirst) : DelegatingBlobStore(inner)
    {
        public string? Target { get; set; }
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata,
            CancellationToken cancellationToken = default)
        {
            if (key != Target)
            {
                await Inner.PutAsync(key, content, length, metadata, cancellationToken);
                return;
            }
            if (landsFirst) await Inner.PutAsync(key, content, length, metadata, cancellationToken);
            Reached.TrySetResult();
            await Release.Task;
            if (!landsFirst) await Inner.PutAsync(key, content, length, metadata, cancellationToken);
        }
    }
}

public sealed class SidecarLocalDiskTests : SidecarTests
{
    protected override Task<LocalObjects> CreateAsync(TimeProvider time, Func<IBlobStore, IBlobStore>? rewrapperBlobs) =>
        Task.FromResult(new LocalObjects(time, rewrapperBlobs: rewrapperBlobs));
}

public sealed class SidecarMotoTests(MotoServer moto) : SidecarTests, IClassFixture<MotoServer>
{
    protected override async Task<LocalObjects> CreateAsync(TimeProvider time, Func<IBlobStore, IBlobStore>? rewrapperBlobs)
    {
        await moto.StartAsync();
        var bucket = "sidecar-" + Guid.NewGuid().ToString("N")[..12];
        await moto.CreateBucketAsync(bucket);
        var blobs = new S3BlobStore(new S3BlobStoreOptions
        {
            Endpoint = moto.Endpoint, Region = moto.Region, Bucket = bucket, ForcePathStyle = true,
            AccessKeyId = moto.AccessKey, SecretAccessKey = moto.SecretKey,
        });
        return new LocalObjects(time, blobs, rewrapperBlobs);
    }
}
