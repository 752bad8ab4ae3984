using System.Text;
using System.Text.Json;

namespace Coffre.Storage.Tests;

public sealed class LocalDiskStoreFixture : IDisposable
{
    public LocalDiskStoreFixture()
    {
        Parent = Path.Combine(Path.GetTempPath(), "coffre-localdisk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Parent);
        Root = Path.Combine(Parent, "root");
        Store = new LocalDiskBlobStore(Root);
    }

    public string Parent { get; }
    public string Root { get; }
    public LocalDiskBlobStore Store { get; }

    public void Dispose()
    {
        try { Directory.Delete(Parent, recursive: true); } catch (IOException) { }
    }
}

public sealed class LocalDiskBlobStoreTests(LocalDiskStoreFixture fixture) : BlobStoreContractTests, IClassFixture<LocalDiskStoreFixture>
{
    protected override IBlobStore Store => fixture.Store;

    [Fact]
    public Task Concurrent_readers_see_the_old_or_the_new_blob_never_a_mix() => AssertConcurrentReadersSeeWholeBlobsAsync();
}

/// <summary>LocalDisk-only behaviour, each test on a fresh root.</summary>
public sealed class LocalDiskSpecificTests : IDisposable
{
    private readonly string _parent = Path.Combine(Path.GetTempPath(), "coffre-localdisk-x-" + Guid.NewGuid().ToString("N"));
    private readonly string _root;
    private readonly LocalDiskBlobStore _store;

    public LocalDiskSpecificTests()
    {
        Directory.CreateDirectory(_parent);
        _root = Path.Combine(_parent, "root");
        _store = new LocalDiskBlobStore(_root);
    }

    public void Dispose()
    {
        try { Directory.Delete(_parent, recursive: true); } catch (IOException) { }
    }

    private Task Put(string key, byte[] data, Dictionary<string, string>? meta = null) =>
        _store.PutAsync(key, new MemoryStream(data), data.Length, meta ?? new Dictionary<string, string>());

    private string BlobsDir => Path.Combine(_root, "blobs");

    [Fact]
    public async Task No_key_writes_outside_the_root_and_every_file_follows_the_layout()
    {
        // Sentinels around the root: a sibling directory and files a traversal would hit.
        var sibling = Path.Combine(_parent, "sibling");
        Directory.CreateDirectory(sibling);
        var keys = BlobStoreContractTests.WeirdKeyList.Concat(
        [
            "../sibling/pwned", "../../pwned", "/tmp/pwned", "..\\..\\pwned", "blobs/../../pwned", new string('z', 1000),
            string.Concat(Enumerable.Repeat("../", 300)) + "etc/passwd", "\u00e9", "e\u0301", // NFC vs NFD stay distinct
        ]).ToList();
        foreach (var key in keys) await Put(key, Encoding.UTF8.GetBytes(key));

        Assert.Equal(["root", "sibling"], Directory.GetFileSystemEntries(_parent).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetFileSystemEntries(sibling));
        Assert.Equal(["blobs"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
        foreach (var file in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(BlobsDir, file).Split(Path.DirectorySeparatorChar);
            Assert.Equal(2, rel.Length);
            Assert.Matches("^[0-9a-f]{2}$", rel[0]);
            Assert.Matches(@"^([a-z2-7]+|_[0-9a-f]{64})(\.m|\.[0-9a-f]{24}\.d)$", rel[1]);
            Assert.True(Encoding.UTF8.GetByteCount(rel[1]) <= 255);
        }
        foreach (var key in keys)
        {
            await using var r = await _store.GetAsync(key);
            Assert.Equal(Encoding.UTF8.GetBytes(key), await TestData.ReadAllAsync(r));
        }
        Assert.Equal(keys.Distinct().Count(), (await _store.ListAsync().ToListAsync()).Count);
        Assert.Equal(keys.Distinct().Count() * 2, Directory.GetFiles(BlobsDir, "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task Long_keys_use_hashed_names_with_the_full_key_in_the_record()
    {
        var key = new string('L', 1000);
        await Put(key, [9, 9]);
        var meta = Directory.GetFiles(BlobsDir, "_*.m", SearchOption.AllDirectories).Single();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(meta));
        Assert.Equal(key, doc.RootElement.GetProperty("key").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("length").GetInt64());
        Assert.Equal(key, Assert.Single(await _store.ListAsync("LLL").ToListAsync()).Key);
        var max = new string('M', BlobKeys.MaxKeyBytes);
        await Put(max, [1]);
        Assert.Equal(1, (await _store.HeadAsync(max))!.Length);
    }

    [Fact]
    public async Task Crash_leftovers_are_ignored_by_reads_and_removed_by_RecoverAsync()
    {
        var data = TestData.Random(50_000, 11);
        await Put("survivor", data, new() { ["v"] = "1" });
        var metaPath = Directory.GetFiles(BlobsDir, "*.m", SearchOption.AllDirectories).Single();
        var dir = Path.GetDirectoryName(metaPath)!;
        var stem = Path.GetFileName(metaPath)[..^2];

        // What a crash can leave: a complete temp body, a half-written temp, a temp record, an orphan body
        // (renamed but its record never committed), and the same in another fan-out directory.
        File.WriteAllBytes(Path.Combine(dir, ".tmp-0123456789abcdef01234567.d"), TestData.Random(50_000, 12));
        File.WriteAllBytes(Path.Combine(dir, ".tmp-aaaaaaaaaaaaaaaaaaaaaaaa.d"), TestData.Random(1_000, 13));
        File.WriteAllText(Path.Combine(dir, ".tmp-bbbbbbbbbbbbbbbbbbbbbbbb.m"), "{\"format\":1,\"key\":\"surv");
        File.WriteAllBytes(Path.Combine(dir, stem + ".cccccccccccccccccccccccc.d"), TestData.Random(10, 14));
        var otherDir = Path.Combine(BlobsDir, dir.EndsWith("ff") ? "00" : "ff");
        Directory.CreateDirectory(otherDir);
        File.WriteAllBytes(Path.Combine(otherDir, "mfzxi.dddddddddddddddddddddddd.d"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(otherDir, ".tmp-eeeeeeeeeeeeeeeeeeeeeeee.m"), [1]);

        Assert.Equal(["survivor"], (await _store.ListAsync().ToListAsync()).Select(e => e.Key));
        await using (var r = await _store.GetAsync("survivor"))
            Assert.Equal(data, await TestData.ReadAllAsync(r));
        Assert.Null(await _store.HeadAsync("surv"));

        var report = await _store.RecoverAsync(TimeSpan.Zero);
        Assert.Equal(new BlobRecoveryReport(TempFilesDeleted: 4, OrphanBodiesDeleted: 2), report);
        Assert.Equal(2, Directory.GetFiles(BlobsDir, "*", SearchOption.AllDirectories).Length);
        await using (var r = await _store.GetAsync("survivor"))
            Assert.Equal(data, await TestData.ReadAllAsync(r));
        Assert.Equal(new BlobRecoveryReport(0, 0), await _store.RecoverAsync(TimeSpan.Zero));
    }

    [Fact]
    public async Task RecoverAsync_spares_leftovers_younger_than_the_minimum_age()
    {
        await Put("survivor", [1, 2, 3]);
        var dir = Path.GetDirectoryName(Directory.GetFiles(BlobsDir, "*.m", SearchOption.AllDirectories).Single())!;
        var old = Path.Combine(dir, ".tmp-0123456789abcdef01234567.d");
        var fresh = Path.Combine(dir, ".tmp-aaaaaaaaaaaaaaaaaaaaaaaa.d");
        File.WriteAllBytes(old, [1]);
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        File.WriteAllBytes(fresh, [2]);

        Assert.Equal(new BlobRecoveryReport(1, 0), await _store.RecoverAsync(TimeSpan.FromHours(1)));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(fresh));
        await using var r = await _store.GetAsync("survivor");
        Assert.Equal([1, 2, 3], await TestData.ReadAllAsync(r));
    }

    [Fact]
    public async Task A_failed_put_leaves_no_files_and_the_old_blob()
    {
        await Put("k", [1, 2, 3]);
        await Assert.ThrowsAsync<IOException>(() => _store.PutAsync("k", new FailingStream(), null, new Dictionary<string, string>()));
        Assert.Equal(2, Directory.GetFiles(BlobsDir, "*", SearchOption.AllDirectories).Length);
        await using var r = await _store.GetAsync("k");
        Assert.Equal(new byte[] { 1, 2, 3 }, await TestData.ReadAllAsync(r));
    }

    [Fact]
    public async Task A_reader_keeps_its_version_while_the_blob_is_replaced_and_deleted()
    {
        await Put("k", Enumerable.Repeat((byte)1, 100_000).ToArray());
        await using var r = await _store.GetAsync("k");
        await Put("k", [2]);
        await _store.DeleteAsync("k");
        var body = await TestData.ReadAllAsync(r);
        Assert.Equal(100_000, body.Length);
        Assert.All(body, b => Assert.Equal(1, b));
    }

    [Fact]
    public async Task Put_streams_to_disk_as_it_reads()
    {
        // When the source has produced 30 MiB, most of it must already be in the temp file on disk.
        long onDiskAtCheckpoint = -1;
        var source = new CallbackStream(40L * 1024 * 1024, 30L * 1024 * 1024, () =>
            onDiskAtCheckpoint = Directory.GetFiles(BlobsDir, ".tmp-*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length));
        await _store.PutAsync("streamed", source, null, new Dictionary<string, string>());
        Assert.True(onDiskAtCheckpoint >= 29L * 1024 * 1024, $"only {onDiskAtCheckpoint} bytes on disk after 30 MiB read");
        Assert.Equal(40L * 1024 * 1024, (await _store.HeadAsync("streamed"))!.Length);
    }

    private sealed class CallbackStream(long length, long checkpoint, Action atCheckpoint) : Stream
    {
        private long _produced;
        private bool _fired;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_fired && _produced >= checkpoint) { _fired = true; atCheckpoint(); }
            var n = (int)Math.Min(count, length - _produced);
            buffer.AsSpan(offset, n).Fill(0x5A);
            _produced += n;
            return n;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class FailingStream : Stream
    {
        private int _reads;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_reads++ > 2) throw new IOException("simulated client disconnect");
            buffer[offset] = 42;
            return 1;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
