using System.Collections.Concurrent;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.TestSupport;

namespace Coffre.Deployment.Tests;

/// <summary>
/// A real `coffre serve` SIGKILLed while versioned PUTs, overwrites, delete markers and version deletes are in flight,
/// then restarted on the same data directory: every version is the old one intact or the new one complete, never
/// neither, and ListObjectVersions and ListObjectsV2 agree with what was acknowledged.
/// </summary>
public sealed class VersionedCrashTests
{
    private const string Bucket = "crash";
    private const int Workers = 8;
    private const int KeysPerWorker = 3;

    /// <summary>What one writer did to its keys: acknowledged versions and their contents, acknowledged removals, and the one operation in flight at the kill.</summary>
    private sealed class Ledger
    {
        public readonly ConcurrentDictionary<string, string> Contents = new();      // version id -> body, acknowledged PUTs
        public readonly ConcurrentDictionary<string, string> KeyOf = new();         // version id -> key (PUTs and markers)
        public readonly ConcurrentDictionary<string, bool> Markers = new();         // version ids of acknowledged delete markers
        public readonly ConcurrentDictionary<string, bool> Removed = new();         // version ids removed by an acknowledged version delete
        public readonly ConcurrentDictionary<string, bool> Attempted = new();       // every body sent, acknowledged or not
        public readonly ConcurrentDictionary<string, bool> RemovalsInFlight = new(); // version deletes sent and not acknowledged
        public long Acknowledged;
    }

    private static string Body(string key, Random random) =>
        $"{key}|{Guid.NewGuid():N}|" + new string('v', random.Next(100, 300_000)); // up to 300 KB: kills land mid-body too

    private static async Task WriteUntilKilledAsync(AmazonS3Client s3, int worker, int seed, Ledger ledger, CancellationToken stop)
    {
        var random = new Random(seed);
        var mine = new Dictionary<string, List<string>>(); // key -> acknowledged live versions, oldest first
        for (var k = 0; k < KeysPerWorker; k++) mine[$"w{worker}/k{k}"] = [];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var key = $"w{worker}/k{random.Next(KeysPerWorker)}";
                var roll = random.Next(10);
                if (roll < 7)
                {
                    var body = Body(key, random);
                    ledger.Attempted[body] = true;
                    var put = await s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = body });
                    ledger.Contents[put.VersionId] = body;
                    ledger.KeyOf[put.VersionId] = key;
                    mine[key].Add(put.VersionId);
                }
                else if (roll < 9 || mine[key].Count == 0)
                {
                    var marker = await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key });
                    ledger.Markers[marker.VersionId] = true;
                    ledger.KeyOf[marker.VersionId] = key;
                }
                else
                {
                    var victim = mine[key][random.Next(mine[key].Count)];
                    ledger.RemovalsInFlight[victim] = true;
                    await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key, VersionId = victim });
                    ledger.RemovalsInFlight.TryRemove(victim, out _);
                    ledger.Removed[victim] = true;
                    mine[key].Remove(victim);
                }
                Interlocked.Increment(ref ledger.Acknowledged);
            }
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TaskCanceledException)
        {
            // The server was killed under this request: it is the operation in flight, acknowledged or not.
        }
    }

    private static async Task<List<(string Key, string VersionId, bool IsLatest, bool IsMarker)>> ListVersionsAsync(AmazonS3Client s3)
    {
        var all = new List<(string, string, bool, bool)>();
        var request = new ListVersionsRequest { BucketName = Bucket, MaxKeys = 7 }; // several pages: the markers are exercised too
        while (true)
        {
            var page = await s3.ListVersionsAsync(request);
            all.AddRange((page.Versions ?? []).Select(v => (v.Key, v.VersionId, v.IsLatest ?? false, v.IsDeleteMarker ?? false)));
            if (page.IsTruncated != true) return all;
            request.KeyMarker = page.NextKeyMarker;
            request.VersionIdMarker = page.NextVersionIdMarker;
        }
    }

    private static async Task<string> ReadAsync(AmazonS3Client s3, string key, string? versionId = null)
    {
        using var got = await s3.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = key, VersionId = versionId });
        using var reader = new StreamReader(got.ResponseStream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Serve_SIGKILLed_during_versioned_overwrites_and_deletes_keeps_every_version_old_or_new_never_neither()
    {
        var data = Directory.CreateTempSubdirectory("coffre-versioned-crash-");
        var ledger = new Ledger();
        try
        {
            var server = await CoffreServeProcess.StartAsync(data.FullName);
            try
            {
                using (var s3 = server.CreateS3Client())
                {
                    await s3.PutBucketAsync(Bucket);
                    await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest
                    {
                        BucketName = Bucket, VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
                    });
                }
                // Two trials on one data directory: the second runs over what the first crash left.
                for (var trial = 0; trial < 2; trial++)
                {
                    using var s3 = server.CreateS3Client(maxErrorRetry: 0);
                    using var stop = new CancellationTokenSource();
                    var writers = Enumerable.Range(0, Workers).Select(w => WriteUntilKilledAsync(s3, w, w + trial * Workers, ledger, stop.Token)).ToArray();
                    var target = Interlocked.Read(ref ledger.Acknowledged) + 150;
                    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
                    while (Interlocked.Read(ref ledger.Acknowledged) < target && DateTime.UtcNow < deadline) await Task.Delay(20);
                    Assert.True(Interlocked.Read(ref ledger.Acknowledged) >= target, "the writers acknowledged too few operations before the kill");
                    server.Kill();
                    stop.Cancel();
                    await Task.WhenAll(writers);
                    server.Dispose();
                    server = await CoffreServeProcess.StartAsync(data.FullName);
                    await VerifyAsync(server, ledger);
                }
            }
            finally
            {
                server.Dispose();
            }
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static async Task VerifyAsync(CoffreServeProcess server, Ledger ledger)
    {
        using var s3 = server.CreateS3Client();
        var listed = await ListVersionsAsync(s3);
        var listedIds = listed.Select(v => v.VersionId).ToHashSet();

        // Nothing acknowledged is lost: every acknowledged version or marker is listed unless an acknowledged delete removed it.
        foreach (var (id, key) in ledger.KeyOf)
            if (!ledger.Removed.ContainsKey(id) && !ledger.RemovalsInFlight.ContainsKey(id))
                Assert.True(listedIds.Contains(id), $"acknowledged version {id} of {key} is missing after the restart");
        foreach (var id in ledger.Removed.Keys)
            Assert.False(listedIds.Contains(id), $"version {id}, removed with an acknowledged delete, came back");

        // Every listed version reads back whole: an acknowledged one with its exact body, one made by the request in
        // flight with a body that was sent (complete, never torn).
        foreach (var (key, id, _, isMarker) in listed.Where(v => !v.IsMarker))
        {
            var body = await ReadAsync(s3, key, id);
            if (ledger.Contents.TryGetValue(id, out var expected)) Assert.Equal(expected, body);
            else Assert.True(ledger.Attempted.ContainsKey(body) && body.StartsWith(key + "|", StringComparison.Ordinal),
                $"version {id} of {key} holds a body no client sent ({body.Length} bytes)");
        }
        foreach (var (key, id, _, _) in listed.Where(v => v.IsMarker))
            Assert.True(ledger.Markers.ContainsKey(id) || !ledger.KeyOf.ContainsKey(id), $"{id} of {key} is listed as a delete marker but was a PUT");

        // The listings agree: one latest entry per key, the first listed; ListObjectsV2 shows exactly the keys whose
        // latest is not a delete marker, each reading as that version.
        var byKey = listed.GroupBy(v => v.Key).ToList();
        foreach (var versions in byKey)
        {
            Assert.Equal(1, versions.Count(v => v.IsLatest));
            Assert.True(versions.First().IsLatest, $"the latest version of {versions.Key} is not listed first");
        }
        var live = byKey.Where(g => !g.First().IsMarker).ToDictionary(g => g.Key, g => g.First().VersionId);
        var current = new List<string>();
        var request = new ListObjectsV2Request { BucketName = Bucket, MaxKeys = 5 };
        while (true)
        {
            var page = await s3.ListObjectsV2Async(request);
            current.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            if (page.IsTruncated != true) break;
            request.ContinuationToken = page.NextContinuationToken;
        }
        Assert.Equal(live.Keys.Order(StringComparer.Ordinal), current);
        foreach (var (key, id) in live)
            Assert.Equal(await ReadAsync(s3, key, id), await ReadAsync(s3, key));
    }
}
