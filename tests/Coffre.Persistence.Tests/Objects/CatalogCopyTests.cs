using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Objects.Keys;
using Coffre.Objects.Versions;
using Coffre.Postgres.Objects;
using Coffre.Sqlite.Objects;
using Coffre.TestSupport;
using Microsoft.Data.Sqlite;

namespace Coffre.Persistence.Tests.Objects;

/// <summary>CatalogCopy from a SQLite catalog to a real PostgreSQL one: everything arrives, an interrupted copy
/// resumes to the same result, and the target lists in the same order as the source.</summary>
public sealed class CatalogCopyTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coffre-copy-").FullName;
    private SqliteObjectCatalog _source = null!;
    private PostgresObjectCatalog _target = null!;

    public async Task InitializeAsync()
    {
        _source = SqliteObjectCatalog.Open(Path.Combine(_directory, "catalog.db"));
        _target = await PostgresObjectCatalog.OpenAsync(await PostgresServer.CreateSharedDatabaseAsync());
    }

    public async Task DisposeAsync()
    {
        await _source.DisposeAsync();
        await _target.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    private static int _blobs;

    private static StoredPart Part(int number) =>
        new(number, $"objects/{Interlocked.Increment(ref _blobs):D8}", 10, 110, Enumerable.Repeat((byte)number, 72).ToArray(), "00112233445566778899aabbccddeeff", null);

    private async Task FillSourceAsync()
    {
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var b in new[] { "alpha", "beta" })
        {
            await _source.TryCreateBucketAsync(new BucketRecord(b, "key-" + b, t));
            for (var i = 0; i < 1500; i++)
                await _source.CommitObjectAsync(new ObjectRecord(b, $"dir{i % 7}/é{i:D4}", 10, $"etag{i}", t, new WrappedKeyRef("key-" + b, 1 + i % 2, [(byte)i]), [1, 2], [Part(0)])
                    { StorageClass = i % 3 == 0 ? "GLACIER" : StorageClasses.Standard });
            var upload = new UploadRecord($"upload-{b}", b, "mp/\U0001F600", t, new WrappedKeyRef("key-" + b, 1, [9]), [3]) { StorageClass = "ONEZONE_IA" };
            await _source.CreateUploadAsync(upload);
            await _source.PutUploadPartAsync(upload.UploadId, Part(1), t);
            await _source.PutUploadPartAsync(upload.UploadId, Part(2), t);
        }
        await _source.SetBucketTagsAsync("alpha", [new("team", "storage"), new("tier", "gold")]);
        await _source.DeleteVersionAsync("alpha", "dir0/é0000", VersionIds.Null); // its part and sidecar become garbage
    }

    private static async Task<List<string>> DumpAsync(IObjectCatalog c)
    {
        var lines = new List<string>();
        foreach (var b in await c.ListBucketsAsync())
        {
            lines.Add($"bucket {b.Name} {b.KeyId} {b.Created:O} {string.Join(",", (await c.GetBucketTagsAsync(b.Name) ?? []).Select(t => t.Key + "=" + t.Value))}");
            string? after = null;
            while (true)
            {
                var page = await c.ListObjectsAsync(b.Name, "", null, after, 700);
                lines.AddRange(page.Entries.Select(e => e.Record!).Select(r =>
                    $"object {r.Name} {r.ETag} {r.StorageClass} {r.Key.KeyVersion} {Convert.ToHexString(r.Key.Wrapped)} {string.Join(",", r.Parts.Select(p => p.Blob + ":" + Convert.ToHexString(p.Header)))}"));
                if (!page.IsTruncated) break;
                after = page.NextMarker;
            }
            foreach (var u in await c.ListUploadsAsync(b.Name, ""))
                lines.Add($"upload {u.UploadId} {u.Name} {u.StorageClass} {string.Join(",", (await c.ListUploadPartsAsync(u.UploadId)).Select(p => p.Part.Number + ":" + p.Part.Blob))}");
        }
        lines.AddRange((await c.GarbageOlderThanAsync(DateTimeOffset.MaxValue)).Order(StringComparer.Ordinal).Select(g => "garbage " + g));
        return lines;
    }

    [Fact]
    public async Task Everything_arrives_and_an_interrupted_copy_resumes_to_the_same_catalog()
    {
        await FillSourceAsync();
        using var interrupt = new CancellationTokenSource();
        var reports = new List<CatalogCopyProgress>();
        var progress = new SynchronousProgress(p =>
        {
            reports.Add(p);
            if (p.Objects >= 1000) interrupt.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CatalogCopy.RunAsync(_source, _target, progress, interrupt.Token));
        Assert.NotEqual(await DumpAsync(_source), await DumpAsync(_target));

        var done = await CatalogCopy.RunAsync(_source, _target);
        Assert.Equal(new CatalogCopyProgress(2, 2999, 2, 4, 3), done); // garbage: the replaced object's part, sidecar and manifest
        Assert.Equal(await DumpAsync(_source), await DumpAsync(_target));
        Assert.Contains(reports, r => r.Objects > 0 && r.Objects < 1500); // progress while a bucket is copied
    }

    private sealed class SynchronousProgress(Action<CatalogCopyProgress> report) : IProgress<CatalogCopyProgress>
    {
        public void Report(CatalogCopyProgress value) => report(value);
    }
}
