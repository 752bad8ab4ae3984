using Coffre.TestSupport;

namespace Coffre.Storage.Tests;

/// <summary>
/// The part buffers bound what uploads to an S3 backend hold in memory: beyond <see cref="S3BlobStoreOptions.PartBuffers"/>
/// an upload waits for a buffer, and fails as busy (retryable; S3 SlowDown at the face) if none comes free within RequestTimeout.
/// </summary>
public sealed class S3BlobStorePartBufferTests(MotoStoreFixture fixture) : IClassFixture<MotoStoreFixture>
{
    private const int Size = 2 * 1024 * 1024;

    [Fact]
    public async Task Uploads_beyond_the_part_buffers_wait_and_then_fail_as_busy()
    {
        var server = fixture.Server;
        using var store = new S3BlobStore(new S3BlobStoreOptions
        {
            Name = "one-buffer", Endpoint = server.Endpoint, Region = server.Region, Bucket = S3StoreFixture<MotoServer>.Bucket,
            KeyPrefix = "part-buffers/", ForcePathStyle = true, AccessKeyId = server.AccessKey, SecretAccessKey = server.SecretKey,
            PartBuffers = 1, RequestTimeout = TimeSpan.FromSeconds(10),
        });
        var data = TestData.Random(Size, Size + 1);
        var meta = TestData.Meta(("v", "1"));

        // The first upload holds the only buffer while its source stalls half-way.
        var stalled = new StallingStream(data, stallAfter: Size / 2);
        var first = store.PutAsync("first", stalled, Size, meta);
        await stalled.Stalled.WaitAsync(TimeSpan.FromMinutes(1));

        // A small body needs no part buffer.
        await store.PutAsync("small", new MemoryStream(data, 0, 1000), 1000, meta);
        // Another large one waits, then fails as busy, naming the setting.
        var refused = await Assert.ThrowsAsync<BlobStoreException>(() => store.PutAsync("refused", new MemoryStream(data), Size, meta));
        Assert.Equal(BlobStoreError.Busy, refused.Error);
        Assert.Contains("PartBuffers", refused.Message);
        Assert.Null(await store.HeadAsync("refused"));

        // One waiting when the buffer comes free gets it.
        var waiting = store.PutAsync("waiting", new MemoryStream(data), Size, meta);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        stalled.Resume();
        await first;
        await waiting;
        foreach (var key in new[] { "first", "waiting" })
        {
            await using var read = await store.GetAsync(key);
            var copy = new MemoryStream();
            await read.Content.CopyToAsync(copy);
            Assert.Equal(data, copy.ToArray());
        }
    }

    /// <summary>Serves <c>data</c>, stopping after <c>stallAfter</c> bytes until <see cref="Resume"/>.</summary>
    private sealed class StallingStream(byte[] data, int stallAfter) : Stream
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position;

        public Task Stalled => _stalled.Task;
        public void Resume() => _resume.TrySetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_position == stallAfter)
            {
                _stalled.TrySetResult();
                await _resume.Task.WaitAsync(ct);
            }
            var end = _position < stallAfter ? stallAfter : data.Length;
            var n = Math.Min(buffer.Length, end - _position);
            data.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
