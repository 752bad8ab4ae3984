using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// A hostile provider edits what it stores: flips, truncates, extends, swaps and rolls back blobs. Every GET
/// of the damaged object must fail — an S3 error status, or a broken connection once the body has started —
/// and never return a complete or cleanly short body that differs from the plaintext.
/// </summary>
public abstract class TamperTestsBase : IAsyncLifetime
{
    protected const int Size = 300_000;               // 4 full 64 KiB segments + a final one of 37,856 bytes
    protected const int Header = 72;
    protected const int Segment = 65_536;
    protected const int Tag = 16;
    private const int MiB = 1024 * 1024;
    private int _counter;

    protected GatewayServer Gateway { get; set; } = null!;
    protected abstract Task<GatewayServer> StartGatewayAsync();
    protected abstract byte[] ReadBlob(string blobKey);

    /// <summary>Replaces the stored bytes, consistently (the provider also reports the new length).</summary>
    protected abstract void WriteBlob(string blobKey, byte[] bytes);

    public virtual async Task InitializeAsync()
    {
        Gateway = await StartGatewayAsync();
        using var s3 = Gateway.CreateClient();
        await s3.PutBucketAsync("tamper");
    }

    public virtual async Task DisposeAsync() => await Gateway.DisposeAsync();

    private async Task<(string Key, byte[] Body, string Blob)> PutAsync(int size = Size, int? seed = null, string? key = null)
    {
        key ??= $"obj-{Interlocked.Increment(ref _counter)}";
        var body = Pattern(size, seed ?? _counter);
        using var s3 = Gateway.CreateClient();
        await s3.PutBytesAsync("tamper", key, body);
        return (key, body, (await PartsAsync(Gateway, "tamper", key))[0].Blob);
    }

    /// <summary>The GET must not succeed with wrong bytes: an S3 5xx error ("status") or a transport failure ("aborted").</summary>
    protected async Task<string> AssertGetFailsAsync(string key, byte[] plaintext, string? range = null)
    {
        using var s3 = NoRetryClient(Gateway);
        var request = new GetObjectRequest { BucketName = "tamper", Key = key };
        if (range is not null) request.ByteRange = new ByteRange(range);
        byte[]? got = null;
        HttpStatusCode status = 0;
        try
        {
            using var response = await s3.GetObjectAsync(request);
            status = response.HttpStatusCode;
            got = await ReadAllAsync(response.ResponseStream);
        }
        catch (AmazonServiceException e) when ((int)e.StatusCode >= 500 || e.StatusCode == 0)
        {
            Assert.NotEqual("NoSuchKey", e.ErrorCode);
            return e.StatusCode == 0 ? "aborted" : "status";
        }
        catch (Exception e) when (e is IOException or HttpRequestException or AmazonClientException or OperationCanceledException)
        {
            return "aborted"; // connection aborted (after the headers): the client saw a failure
        }
        throw new Xunit.Sdk.XunitException($"GET {range ?? "(whole)"} of a tampered object answered {(int)status} with {got!.Length} bytes " +
                    $"(plaintext {plaintext.Length} bytes, equal: {got.AsSpan().SequenceEqual(plaintext)})");
    }

    private static byte[] Flip(byte[] bytes, long offset)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] ^= 0x01;
        return copy;
    }

    [Fact]
    public async Task Control_rewriting_the_same_bytes_changes_nothing()
    {
        var (key, body, blob) = await PutAsync();
        WriteBlob(blob, ReadBlob(blob));
        using var s3 = NoRetryClient(Gateway);
        Assert.Equal(body, await s3.GetBytesAsync("tamper", key));
        Assert.Equal(body[1000..2000], await s3.GetBytesAsync("tamper", key, "bytes=1000-1999"));
    }

    [Fact]
    public async Task A_segment_failing_before_any_byte_is_sent_is_a_clean_500()
    {
        var (key, body, blob) = await PutAsync();
        WriteBlob(blob, Flip(ReadBlob(blob), Header + 10));
        Assert.Equal("status", await AssertGetFailsAsync(key, body));
        // The header itself is compared before anything is sent.
        WriteBlob(blob, Flip(Flip(ReadBlob(blob), Header + 10), 5));
        Assert.Equal("status", await AssertGetFailsAsync(key, body));
    }

    [Theory]
    [InlineData("header", Header / 2, null)]
    [InlineData("segment", Header + 1000, "bytes=900-1100")]
    [InlineData("middle-segment", Header + 2 * (Segment + Tag) + 5, "bytes=131072-131200")]
    [InlineData("tag", Header + Segment + 3, "bytes=0-10")]
    [InlineData("final-tag", -1, "bytes=-10")]
    public async Task Flipped_byte_fails_whole_and_ranged_reads(string where, int offset, string? range)
    {
        var (key, body, blob) = await PutAsync();
        var stored = ReadBlob(blob);
        WriteBlob(blob, Flip(stored, offset >= 0 ? offset : stored.Length - 1));
        await AssertGetFailsAsync(key, body);
        if (range is not null) await AssertGetFailsAsync(key, body, range);
        Assert.NotNull(where);
    }

    [Theory]
    [InlineData("last-segment")]
    [InlineData("middle")]
    [InlineData("one-byte")]
    public async Task Truncated_blob_fails(string how)
    {
        var (key, body, blob) = await PutAsync();
        var stored = ReadBlob(blob);
        var finalSegment = Size % Segment + Tag;
        var cut = how switch
        {
            "last-segment" => stored.Length - finalSegment,
            "middle" => stored.Length / 2,
            _ => stored.Length - 1,
        };
        WriteBlob(blob, stored[..cut]);
        await AssertGetFailsAsync(key, body);
        await AssertGetFailsAsync(key, body, "bytes=0-100");
        await AssertGetFailsAsync(key, body, "bytes=-100");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(Segment + Tag)]
    public async Task Appended_bytes_fail(int extra)
    {
        var (key, body, blob) = await PutAsync();
        var stored = ReadBlob(blob);
        WriteBlob(blob, [.. stored, .. Pattern(extra, 99)]);
        await AssertGetFailsAsync(key, body);
        await AssertGetFailsAsync(key, body, "bytes=-100");
    }

    [Fact]
    public async Task Swapped_blobs_of_two_objects_fail()
    {
        var a = await PutAsync();
        var b = await PutAsync();
        var bytesA = ReadBlob(a.Blob);
        var bytesB = ReadBlob(b.Blob);
        WriteBlob(a.Blob, bytesB);
        WriteBlob(b.Blob, bytesA);
        await AssertGetFailsAsync(a.Key, a.Body);
        await AssertGetFailsAsync(b.Key, b.Body);
        await AssertGetFailsAsync(a.Key, a.Body, "bytes=100-200");
        await AssertGetFailsAsync(b.Key, b.Body, "bytes=-200");
    }

    [Fact]
    public async Task Rollback_to_an_older_version_of_the_same_object_fails()
    {
        var v1 = await PutAsync(key: "rolled", seed: 1);
        var oldBytes = ReadBlob(v1.Blob);
        var v2 = await PutAsync(key: "rolled", seed: 2);
        Assert.NotEqual(v1.Blob, v2.Blob);
        WriteBlob(v2.Blob, oldBytes);
        await AssertGetFailsAsync("rolled", v2.Body);
        await AssertGetFailsAsync("rolled", v2.Body, "bytes=1000-2000");
        await AssertGetFailsAsync("rolled", v2.Body, "bytes=-5");
    }

    [Fact]
    public async Task Swapped_parts_of_a_multipart_object_fail()
    {
        using var s3 = Gateway.CreateClient();
        var body = Pattern(10 * MiB, 5);
        var init = await s3.InitiateMultipartUploadAsync("tamper", "mp-swap");
        var etags = new List<PartETag>();
        for (var n = 1; n <= 2; n++)
        {
            var r = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "tamper", Key = "mp-swap", UploadId = init.UploadId, PartNumber = n, InputStream = new MemoryStream(body, (n - 1) * 5 * MiB, 5 * MiB) });
            etags.Add(new PartETag(n, r.ETag));
        }
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "tamper", Key = "mp-swap", UploadId = init.UploadId, PartETags = etags });
        var parts = await PartsAsync(Gateway, "tamper", "mp-swap");
        var one = ReadBlob(parts[0].Blob);
        var two = ReadBlob(parts[1].Blob);
        WriteBlob(parts[0].Blob, two);
        WriteBlob(parts[1].Blob, one);
        await AssertGetFailsAsync("mp-swap", body);
        await AssertGetFailsAsync("mp-swap", body, "bytes=0-99");
        await AssertGetFailsAsync("mp-swap", body, $"bytes={5 * MiB + 10}-{5 * MiB + 20}");
    }

    [Fact]
    public async Task Damage_in_a_later_part_aborts_the_response_after_the_headers()
    {
        using var s3 = Gateway.CreateClient();
        var body = Pattern(5 * MiB + 200_000, 6);
        var init = await s3.InitiateMultipartUploadAsync("tamper", "mp-late");
        var r1 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "tamper", Key = "mp-late", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream(body, 0, 5 * MiB) });
        var r2 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "tamper", Key = "mp-late", UploadId = init.UploadId, PartNumber = 2, InputStream = new MemoryStream(body, 5 * MiB, 200_000) });
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "tamper", Key = "mp-late", UploadId = init.UploadId, PartETags = [new PartETag(1, r1.ETag), new PartETag(2, r2.ETag)] });
        var parts = await PartsAsync(Gateway, "tamper", "mp-late");
        var stored = ReadBlob(parts[1].Blob);

        // A flipped byte in the second part's last segment: the 5 MiB of part 1 are already on the wire,
        // so the only way left to fail is to break the connection.
        WriteBlob(parts[1].Blob, Flip(stored, stored.Length - 20));
        Assert.Equal("aborted", await AssertGetFailsAsync("mp-late", body));
        // Part 1 alone is intact and still readable.
        Assert.Equal(body[..1000], await s3.GetBytesAsync("tamper", "mp-late", "bytes=0-999"));

        // The second part's header replaced: detected when that part is opened, mid-response.
        WriteBlob(parts[1].Blob, Flip(stored, 40));
        Assert.Equal("aborted", await AssertGetFailsAsync("mp-late", body));
        // Its segments cut short (a clean, consistent truncation of the last part).
        WriteBlob(parts[1].Blob, stored[..(stored.Length - 50_000)]);
        await AssertGetFailsAsync("mp-late", body);
        await AssertGetFailsAsync("mp-late", body, $"bytes={5 * MiB - 10}-");
    }
}

public sealed class TamperLocalDiskTests : TamperTestsBase
{
    protected override Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync();

    protected override byte[] ReadBlob(string blobKey) => File.ReadAllBytes(LocalDiskBlob(Gateway, blobKey).DataPath);

    protected override void WriteBlob(string blobKey, byte[] bytes)
    {
        var files = LocalDiskBlob(Gateway, blobKey);
        File.WriteAllBytes(files.DataPath, bytes);
        SetLocalDiskLength(files, bytes.Length);
    }

    [Fact]
    public async Task Inconsistent_truncation_of_the_body_file_alone_fails()
    {
        using var s3 = Gateway.CreateClient();
        var body = Pattern(Size, 77);
        await s3.PutBytesAsync("tamper", "cut-file", body);
        var files = LocalDiskBlob(Gateway, (await PartsAsync(Gateway, "tamper", "cut-file"))[0].Blob);
        var bytes = File.ReadAllBytes(files.DataPath);
        File.WriteAllBytes(files.DataPath, bytes[..(bytes.Length / 2)]);
        await AssertGetFailsAsync("cut-file", body);
        await AssertGetFailsAsync("cut-file", body, "bytes=0-10");
    }
}

public sealed class TamperS3rverTests : TamperTestsBase
{
    private readonly S3rverServer _s3rver = new();

    protected override async Task<GatewayServer> StartGatewayAsync()
    {
        await _s3rver.StartAsync();
        return await GatewayServer.StartAsync(s3Backend: _s3rver);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _s3rver.Dispose();
    }

    protected override byte[] ReadBlob(string blobKey) => File.ReadAllBytes(S3rverBlobFile(_s3rver.DataDirectory, blobKey));

    protected override void WriteBlob(string blobKey, byte[] bytes)
    {
        var path = S3rverBlobFile(_s3rver.DataDirectory, blobKey);
        File.WriteAllBytes(path, bytes);
    }
}
