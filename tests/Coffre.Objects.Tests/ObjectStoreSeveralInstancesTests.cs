using System.Security.Cryptography;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Postgres.Objects;
using Coffre.Storage;
using Coffre.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Objects.Tests;

/// <summary>
/// Two object stores — two Coffre instances — over one PostgreSQL catalog, one blob store and one key service:
/// a multipart upload moves between them, conditional writes stay atomic, and garbage collection on one never
/// deletes what the other is still writing.
/// </summary>
public sealed class ObjectStoreSeveralInstancesTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-instances-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ObjectStoreOptions _options = new() { MinimumPartSize = 1 };
    private readonly FakeDataKeys _keys = new();
    private PostgresObjectCatalog _catalogA = null!, _catalogB = null!;
    private LocalDiskBlobStore _blobs = null!;
    private ObjectStore _a = null!, _b = null!;

    public async Task InitializeAsync()
    {
        var database = await PostgresServer.CreateSharedDatabaseAsync();
        var blobs = _blobs = new LocalDiskBlobStore(Path.Combine(_directory, "objects"));
        _catalogA = await PostgresObjectCatalog.OpenAsync(database, _time);
        _catalogB = await PostgresObjectCatalog.OpenAsync(database, _time);
        _a = new ObjectStore(_catalogA, blobs, _keys, _options, _time);
        _b = new ObjectStore(_catalogB, blobs, _keys, _options, _time);
        await _a.CreateBucketAsync("bucket", "tester");
    }

    public async Task DisposeAsync()
    {
        await _catalogA.DisposeAsync();
        await _catalogB.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    private static PutObjectCommand Put(string name, byte[] body, WriteCondition? condition = null) =>
        new("bucket", name, new MemoryStream(body), body.Length, new ObjectMetadata(), "tester", Condition: condition);

    private static async Task<byte[]> ReadAsync(ObjectStore store, string name)
    {
        using var reader = await store.OpenAsync(await store.GetRecordAsync("bucket", name), "tester");
        using var copy = new MemoryStream();
        await reader.Body.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task A_multipart_upload_started_on_one_instance_receives_parts_and_completes_on_the_other()
    {
        var (one, two, three) = (RandomNumberGenerator.GetBytes(70_000), RandomNumberGenerator.GetBytes(50_000), RandomNumberGenerator.GetBytes(10));
        var upload = await _a.CreateUploadAsync("bucket", "big", new ObjectMetadata { ContentType = "video/mp4" }, "tester");
        var p1 = await _a.UploadPartAsync(new UploadPartCommand("bucket", "big", upload.UploadId, 1, new MemoryStream(one), one.Length, "tester"));
        var p2 = await _b.UploadPartAsync(new UploadPartCommand("bucket", "big", upload.UploadId, 2, new MemoryStream(two), two.Length, "tester"));
        var p3 = await _a.UploadPartAsync(new UploadPartCommand("bucket", "big", upload.UploadId, 3, new MemoryStream(three), three.Length, "tester"));

        Assert.Equal([1, 2, 3], (await _b.ListPartsAsync("bucket", "big", upload.UploadId)).Select(p => p.Part.Number));
        Assert.Equal([upload.UploadId], (await _b.ListUploadsAsync("bucket", "")).Select(u => u.UploadId));
        var record = await _b.CompleteUploadAsync("bucket", "big", upload.UploadId, [(1, p1.Md5Hex), (2, p2.Md5Hex), (3, p3.Md5Hex)], "tester");
        Assert.EndsWith("-3", record.ETag);

        Assert.Equal(one.Concat(two).Concat(three).ToArray(), await ReadAsync(_a, "big"));
        Assert.Equal("video/mp4", (await _a.ReadMetadataAsync(await _a.GetRecordAsync("bucket", "big"), "tester")).ContentType);
        Assert.Empty(await _a.ListUploadsAsync("bucket", ""));
        // Completed on B: A cannot complete or abort it again.
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => _a.AbortUploadAsync("bucket", "big", upload.UploadId));
        Assert.Equal(ObjectError.NoSuchUpload, e.Error);
    }

    [Fact]
    public async Task Create_only_puts_racing_on_two_instances_have_exactly_one_winner()
    {
        for (var round = 0; round < 5; round++)
        {
            var name = $"race-{round}";
            var bodies = Enumerable.Range(0, 8).Select(i => RandomNumberGenerator.GetBytes(1000 + i)).ToArray();
            var outcomes = await Task.WhenAll(bodies.Select(async (body, i) =>
            {
                await Task.Yield();
                try
                {
                    await (i % 2 == 0 ? _a : _b).PutObjectAsync(Put(name, body, new WriteCondition(null, IfNoneMatch: true)));
                    return (Won: true, Body: body);
                }
                catch (ObjectStoreException e) when (e.Error == ObjectError.PreconditionFailed)
                {
                    return (Won: false, Body: body);
                }
            }));
            var winner = Assert.Single(outcomes, o => o.Won);
            Assert.Equal(winner.Body, await ReadAsync(_b, name));
            Assert.Equal(winner.Body, await ReadAsync(_a, name));
        }
    }

    [Fact]
    public async Task Collecting_garbage_on_one_instance_never_deletes_what_the_other_is_still_writing()
    {
        var replaced = await _a.PutObjectAsync(Put("doc", RandomNumberGenerator.GetBytes(5000)));
        // A writes a new version whose commit waits (on its data key's audit record) after the blob is stored:
        // the blob is on the backend, pending in the catalog, referenced by nothing yet, while B collects garbage.
        var held = new HeldRecords(_keys);
        var slowWriter = new ObjectStore(_catalogA, _blobs, held, _options, _time);
        var slowBody = RandomNumberGenerator.GetBytes(5000);
        var blobsBefore = await CountBlobsAsync();
        var slow = slowWriter.PutObjectAsync(Put("doc", slowBody));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await CountBlobsAsync() == blobsBefore && !slow.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.False(slow.IsCompleted);
        _time.Advance(_options.GarbageGracePeriod + TimeSpan.FromMinutes(5));
        Assert.Equal(0, await _b.CollectGarbageAsync());
        held.Release();
        await slow;
        Assert.Equal(slowBody, await ReadAsync(_b, "doc"));

        // The version it replaced is collected, by either instance, once the grace period is over — and only then.
        Assert.Equal(0, await _b.CollectGarbageAsync());
        _time.Advance(_options.GarbageGracePeriod + TimeSpan.FromSeconds(1));
        var collected = await Task.WhenAll(_a.CollectGarbageAsync(), _b.CollectGarbageAsync());
        Assert.InRange(collected.Sum(), 3, 6); // the part, its sidecar and manifest; both instances may delete the same ones
        Assert.Empty(await _catalogA.GarbageOlderThanAsync(DateTimeOffset.MaxValue));
        Assert.Equal(slowBody, await ReadAsync(_a, "doc"));
        Assert.Null(await _blobs.HeadAsync(replaced.Parts[0].Blob));
    }

    private async Task<int> CountBlobsAsync() => await _blobs.ListAsync().CountAsync();

    /// <summary>Data keys whose audit records stay uncommitted until released.</summary>
    private sealed class HeldRecords(IDataKeyService inner) : IDataKeyService
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal, IReadOnlyDictionary<string, string>? recorded = null) =>
            inner.GenerateDataKey(keyRef, context, principal, recorded) with { Recorded = _gate.Task };

        public Task<byte[]> UnwrapDataKeyAsync(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal) => inner.UnwrapDataKeyAsync(wrapped, context, principal);
        public WrappedKeyRef RewrapDataKey(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal) => inner.RewrapDataKey(wrapped, context, principal);
        public string ResolveKeyId(string keyRef) => inner.ResolveKeyId(keyRef);
        public int PrimaryVersion(string keyRef) => inner.PrimaryVersion(keyRef);
        public bool IsEnabled(string keyRef) => inner.IsEnabled(keyRef);
    }
}
