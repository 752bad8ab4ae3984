using System.Security.Cryptography;
using Coffre.Objects.Keys;
using Coffre.Storage;
using Coffre.TestSupport;
using Xunit;

namespace Coffre.Objects.Tests;

/// <summary>
/// A GET fetches its first part while the unwrap's audit record commits, and answers nothing before the record
/// is in: the data-key service here holds every unwrap until the test releases it, as a slow commit would.
/// </summary>
public sealed class ObjectStoreReadOverlapTests : IAsyncLifetime
{
    private readonly TestStore _t = new();
    private readonly HeldUnwraps _keys = new(new FakeDataKeys());
    private readonly CountingBlobs _blobs;
    private readonly ObjectStore _store;

    public ObjectStoreReadOverlapTests()
    {
        _blobs = new CountingBlobs(_t.Blobs);
        _t.Options.SegmentExponent = 12; // 4 KiB segments, so a range can start inside a part
        _store = new ObjectStore(_t.Catalog, _blobs, _keys, _t.Options, _t.Time);
    }

    public Task InitializeAsync() => _store.CreateBucketAsync("bkt", "tester");


    private async Task<byte[]> PutAsync(string name, int size)
    {
        var body = RandomNumberGenerator.GetBytes(size);
        await _store.PutObjectAsync(new PutObjectCommand("bkt", name, new MemoryStream(body), body.Length, new ObjectMetadata(), "tester"));
        return body;
    }

    [Theory]
    [InlineData(0, null)]          // whole object
    [InlineData(10_000, 20_000L)]  // a range starting inside a segment
    public async Task The_first_part_is_fetched_while_the_unwrap_is_recorded_and_read_once(long start, long? end)
    {
        var body = await PutAsync("o", 50_000);
        var fetchesBefore = _blobs.Gets;

        var open = _store.OpenAsync(await _store.GetRecordAsync("bkt", "o"), "tester", start, end);
        Assert.Equal(fetchesBefore + 1, _blobs.Gets); // fetching already
        Assert.False(open.IsCompleted);               // but not answered: the record is not in

        _keys.Release();
        using var reader = await open;
        await reader.PrepareAsync();
        var read = new MemoryStream();
        await reader.Body.CopyToAsync(read);

        Assert.Equal(body[(int)start..(int)(end ?? body.Length)], read.ToArray());
        Assert.Equal(fetchesBefore + 1, _blobs.Gets); // the early fetch was the one read, not a second one
    }

    [Fact]
    public async Task A_refused_unwrap_fails_the_read_and_closes_the_part_fetched_meanwhile()
    {
        await PutAsync("o", 50_000);
        var open = _store.OpenAsync(await _store.GetRecordAsync("bkt", "o"), "tester");
        Assert.Equal(1, _blobs.OpenStreams);

        _keys.Refuse(new ObjectStoreException(ObjectError.KeyServiceUnavailable, "audit store unavailable"));

        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => open);
        Assert.Equal(ObjectError.KeyServiceUnavailable, e.Error);
        await WaitUntil(() => _blobs.OpenStreams == 0);
    }

    [Fact]
    public async Task A_backend_failure_on_the_early_fetch_surfaces_when_the_body_is_prepared()
    {
        await PutAsync("o", 50_000);
        _blobs.Fail = new BlobStoreException(BlobStoreError.Unavailable, "local", "x", "backend down");
        var open = _store.OpenAsync(await _store.GetRecordAsync("bkt", "o"), "tester");
        _keys.Release();

        using var reader = await open; // the key is in; the metadata is readable without the backend
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => reader.PrepareAsync());
        Assert.Equal(ObjectError.BackendUnavailable, e.Error); // an outage, not lost data
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }

    public Task DisposeAsync()
    {
        _t.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Unwraps with the inner service, but completes only when the test says (as a pending audit commit).</summary>
    private sealed class HeldUnwraps(IDataKeyService inner) : IDataKeyService
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();
        public void Refuse(Exception e) => _gate.TrySetException(e);

        public async Task<byte[]> UnwrapDataKeyAsync(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal)
        {
            var key = await inner.UnwrapDataKeyAsync(wrapped, context, principal);
            try
            {
                await _gate.Task;
            }
            catch
            {
                CryptographicOperations.ZeroMemory(key);
                throw;
            }
            return key;
        }

        public DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal, IReadOnlyDictionary<string, string>? recorded = null) => inner.GenerateDataKey(keyRef, context, principal, recorded);
        public WrappedKeyRef RewrapDataKey(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal) => inner.RewrapDataKey(wrapped, context, principal);
        public string ResolveKeyId(string keyRef) => inner.ResolveKeyId(keyRef);
        public int PrimaryVersion(string keyRef) => inner.PrimaryVersion(keyRef);
        public bool IsEnabled(string keyRef) => inner.IsEnabled(keyRef);
    }

    /// <summary>Counts backend reads and the blob streams they opened that are not closed yet; can fail reads.</summary>
    private sealed class CountingBlobs(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        private int _gets, _open;
        public int Gets => Volatile.Read(ref _gets);
        public int OpenStreams => Volatile.Read(ref _open);
        public Exception? Fail { get; set; }

        public override async Task<BlobReadResult> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _gets);
            if (Fail is { } e) throw e;
            var result = await Inner.GetAsync(key, offset, length, cancellationToken);
            Interlocked.Increment(ref _open);
            return new BlobReadResult(result.Key, new ClosingStream(result.Content, () => Interlocked.Decrement(ref _open)),
                result.Offset, result.Length, result.TotalLength, result.Metadata);
        }
    }

    private sealed class ClosingStream(Stream inner, Action closed) : Stream
    {
        private int _closed;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _closed, 1) == 0)
            {
                inner.Dispose();
                closed();
            }
            base.Dispose(disposing);
        }
    }
}
