using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>Multipart uploads through AWSSDK.S3: TransferUtility, the low-level API in parallel and out of order, ranges and parts.</summary>
public sealed class MultipartSdkTests(LocalGatewayFixture fixture) : IClassFixture<LocalGatewayFixture>
{
    private const int MiB = 1024 * 1024;
    private GatewayServer Gateway => fixture.Gateway;

    private async Task<AmazonS3Client> ClientWithBucketAsync(string bucket)
    {
        var s3 = Client(Gateway);
        try { await s3.PutBucketAsync(bucket); }
        catch (AmazonS3Exception e) when (e.ErrorCode == "BucketAlreadyOwnedByYou") { }
        return s3;
    }

    [Fact]
    public async Task TransferUtility_uploads_60_MiB_in_parts_and_reads_back_whole_and_ranged()
    {
        using var s3 = await ClientWithBucketAsync("mp-transfer");
        var body = Pattern(60 * MiB, 60);
        using var transfer = new TransferUtility(s3);
        await transfer.UploadAsync(new TransferUtilityUploadRequest
        {
            BucketName = "mp-transfer", Key = "big.bin", InputStream = new MemoryStream(body), PartSize = 8 * MiB,
        });
        var head = await s3.GetObjectMetadataAsync("mp-transfer", "big.bin");
        Assert.Equal(body.Length, head.ContentLength);
        Assert.EndsWith("-8", head.ETag.Trim('"'));
        Assert.Equal(body, await s3.GetBytesAsync("mp-transfer", "big.bin"));
        // Across the boundary between part 1 and part 2.
        Assert.Equal(body[(8 * MiB - 100)..(8 * MiB + 100)], await s3.GetBytesAsync("mp-transfer", "big.bin", $"bytes={8 * MiB - 100}-{8 * MiB + 99}"));

        // And TransferUtility's own download.
        var file = Path.Combine(Gateway.DataDirectory, "download.bin");
        await transfer.DownloadAsync(new TransferUtilityDownloadRequest { BucketName = "mp-transfer", Key = "big.bin", FilePath = file });
        Assert.Equal(body, await File.ReadAllBytesAsync(file));
        File.Delete(file);
    }

    [Fact]
    public async Task Low_level_parts_uploaded_in_parallel_out_of_order_then_ranges_parts_and_checksums()
    {
        using var s3 = await ClientWithBucketAsync("mp-lowlevel");
        const int partSize = 10 * MiB;
        var body = Pattern(60 * MiB, 61);
        var init = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = "mp-lowlevel", Key = "parallel.bin", ChecksumAlgorithm = ChecksumAlgorithm.CRC32, ContentType = "application/x-parts",
        });
        var numbers = Enumerable.Range(1, 6).Reverse().ToArray(); // 6, 5, ..., 1
        var uploads = numbers.Select(async n =>
        {
            var r = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "mp-lowlevel", Key = "parallel.bin", UploadId = init.UploadId, PartNumber = n,
                InputStream = new MemoryStream(body, (n - 1) * partSize, partSize), ChecksumAlgorithm = ChecksumAlgorithm.CRC32,
            });
            return new PartETag(n, r.ETag) { ChecksumCRC32 = r.ChecksumCRC32 };
        }).ToList();
        var etags = (await Task.WhenAll(uploads)).OrderBy(p => p.PartNumber).ToList();
        foreach (var p in etags)
            Assert.Equal(Convert.ToHexStringLower(MD5.HashData(body.AsSpan((p.PartNumber!.Value - 1) * partSize, partSize))), p.ETag.Trim('"'));

        var complete = await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "mp-lowlevel", Key = "parallel.bin", UploadId = init.UploadId, PartETags = etags,
        });
        var md5s = etags.SelectMany(p => Convert.FromHexString(p.ETag.Trim('"'))).ToArray();
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(md5s)) + "-6", complete.ETag.Trim('"'));

        using (var whole = await s3.GetObjectAsync(new GetObjectRequest { BucketName = "mp-lowlevel", Key = "parallel.bin", ChecksumMode = ChecksumMode.ENABLED }))
        {
            Assert.Equal(body, await ReadAllAsync(whole.ResponseStream));
            Assert.Equal("application/x-parts", whole.Headers.ContentType);
            // Composite checksum: CRC32 of the concatenated part CRC32s, then "-6".
            var partCrcs = etags.SelectMany(p => SdkObjectTests.Crc32BigEndian(body.AsSpan((p.PartNumber!.Value - 1) * partSize, partSize))).ToArray();
            Assert.Equal(Convert.ToBase64String(SdkObjectTests.Crc32BigEndian(partCrcs)) + "-6", whole.ChecksumCRC32);
        }

        // Inside a part, across part boundaries, suffix and open ranges.
        Assert.Equal(body[1000..2001], await s3.GetBytesAsync("mp-lowlevel", "parallel.bin", "bytes=1000-2000"));
        Assert.Equal(body[(partSize + 70_000)..(partSize + 200_000)], await s3.GetBytesAsync("mp-lowlevel", "parallel.bin", $"bytes={partSize + 70_000}-{partSize + 199_999}"));
        Assert.Equal(body[(partSize - 5)..(3 * partSize + 5)], await s3.GetBytesAsync("mp-lowlevel", "parallel.bin", $"bytes={partSize - 5}-{3 * partSize + 4}"));
        Assert.Equal(body[^70_000..], await s3.GetBytesAsync("mp-lowlevel", "parallel.bin", "bytes=-70000"));
        Assert.Equal(body[(5 * partSize - 3)..], await s3.GetBytesAsync("mp-lowlevel", "parallel.bin", $"bytes={5 * partSize - 3}-"));
        Assert.Equal(body[^1..], await s3.GetBytesAsync("mp-lowlevel", "parallel.bin", $"bytes={body.Length - 1}-{body.Length + 1000}"));

        // GetObject with PartNumber.
        using (var part3 = await s3.GetObjectAsync(new GetObjectRequest { BucketName = "mp-lowlevel", Key = "parallel.bin", PartNumber = 3 }))
        {
            Assert.Equal(HttpStatusCode.PartialContent, part3.HttpStatusCode);
            Assert.Equal(6, part3.PartsCount);
            Assert.Equal(body[(2 * partSize)..(3 * partSize)], await ReadAllAsync(part3.ResponseStream));
        }
        var noPart = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = "mp-lowlevel", Key = "parallel.bin", PartNumber = 7 }));
        Assert.Equal("InvalidPartNumber", noPart.ErrorCode);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, noPart.StatusCode);
    }

    [Fact]
    public async Task Upload_part_copy_with_source_ranges()
    {
        using var s3 = await ClientWithBucketAsync("mp-copy");
        var source = Pattern(7 * MiB + 123, 62);
        await s3.PutBytesAsync("mp-copy", "source.bin", source);
        var init = await s3.InitiateMultipartUploadAsync("mp-copy", "assembled.bin");
        var first = await s3.CopyPartAsync(new CopyPartRequest
        {
            SourceBucket = "mp-copy", SourceKey = "source.bin", DestinationBucket = "mp-copy", DestinationKey = "assembled.bin",
            UploadId = init.UploadId, PartNumber = 1, FirstByte = 2 * MiB, LastByte = 7 * MiB + 122,
        });
        var second = await s3.CopyPartAsync(new CopyPartRequest
        {
            SourceBucket = "mp-copy", SourceKey = "source.bin", DestinationBucket = "mp-copy", DestinationKey = "assembled.bin",
            UploadId = init.UploadId, PartNumber = 2, FirstByte = 100, LastByte = 100_099,
        });
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "mp-copy", Key = "assembled.bin", UploadId = init.UploadId,
            PartETags = [new PartETag(1, first.ETag), new PartETag(2, second.ETag)],
        });
        byte[] expected = [.. source[(2 * MiB)..], .. source[100..100_100]];
        Assert.Equal(expected, await s3.GetBytesAsync("mp-copy", "assembled.bin"));

        // A source range past the end is refused, not clamped into a shorter part.
        var again = await s3.InitiateMultipartUploadAsync("mp-copy", "refused.bin");
        var beyond = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.CopyPartAsync(new CopyPartRequest
        {
            SourceBucket = "mp-copy", SourceKey = "source.bin", DestinationBucket = "mp-copy", DestinationKey = "refused.bin",
            UploadId = again.UploadId, PartNumber = 1, FirstByte = 0, LastByte = source.Length,
        }));
        Assert.Equal("InvalidArgument", beyond.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, beyond.StatusCode);
        var parts = await s3.ListPartsAsync(new ListPartsRequest { BucketName = "mp-copy", Key = "refused.bin", UploadId = again.UploadId });
        Assert.True(parts.Parts is null || parts.Parts.Count == 0);
        await s3.AbortMultipartUploadAsync("mp-copy", "refused.bin", again.UploadId);
    }

    [Fact]
    public async Task List_multipart_uploads_pages_with_markers_and_delimiter()
    {
        using var s3 = await ClientWithBucketAsync("mp-uploads");
        var started = new List<(string Key, string UploadId)>();
        foreach (var key in new[] { "a", "b/1", "b/2", "c", "c", "d" })
            started.Add((key, (await s3.InitiateMultipartUploadAsync("mp-uploads", key)).UploadId));

        var seen = new List<(string, string)>();
        string? keyMarker = null, idMarker = null;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 20);
            var page = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest
            {
                BucketName = "mp-uploads", MaxUploads = 2, KeyMarker = keyMarker, UploadIdMarker = idMarker,
            });
            Assert.True(page.MultipartUploads.Count <= 2);
            seen.AddRange(page.MultipartUploads.Select(u => (u.Key, u.UploadId)));
            if (page.IsTruncated != true) break;
            (keyMarker, idMarker) = (page.NextKeyMarker, page.NextUploadIdMarker);
        }
        Assert.Equal(started.Select(s => s.Key), seen.Select(s => s.Item1));
        Assert.Equal(started.Select(s => s.UploadId).Order(), seen.Select(s => s.Item2).Order());

        var rolled = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = "mp-uploads", Delimiter = "/" });
        Assert.Equal(["b/"], rolled.CommonPrefixes);
        Assert.Equal(["a", "c", "c", "d"], rolled.MultipartUploads.Select(u => u.Key));
        var prefixed = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = "mp-uploads", Prefix = "b/" });
        Assert.Equal(["b/1", "b/2"], prefixed.MultipartUploads.Select(u => u.Key));
        var afterKey = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = "mp-uploads", KeyMarker = "c" });
        Assert.Equal(["d"], afterKey.MultipartUploads.Select(u => u.Key));

        foreach (var (key, id) in started) await s3.AbortMultipartUploadAsync("mp-uploads", key, id);
    }

    [Fact]
    public async Task List_parts_list_uploads_and_abort()
    {
        using var s3 = await ClientWithBucketAsync("mp-list");
        var init = await s3.InitiateMultipartUploadAsync("mp-list", "pending/one.bin");
        var other = await s3.InitiateMultipartUploadAsync("mp-list", "pending/two.bin");
        var part1 = Pattern(5 * MiB, 1);
        var part2 = Pattern(1000, 2);
        var r2 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "mp-list", Key = "pending/one.bin", UploadId = init.UploadId, PartNumber = 2, InputStream = new MemoryStream(part2) });
        var r1 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "mp-list", Key = "pending/one.bin", UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream(part1) });

        var parts = await s3.ListPartsAsync(new ListPartsRequest { BucketName = "mp-list", Key = "pending/one.bin", UploadId = init.UploadId });
        Assert.Equal([1, 2], parts.Parts.Select(p => p.PartNumber!.Value));
        Assert.Equal([(long)part1.Length, part2.Length], parts.Parts.Select(p => p.Size!.Value));
        Assert.Equal([r1.ETag, r2.ETag], parts.Parts.Select(p => p.ETag));

        var paged = await s3.ListPartsAsync(new ListPartsRequest { BucketName = "mp-list", Key = "pending/one.bin", UploadId = init.UploadId, MaxParts = 1 });
        Assert.True(paged.IsTruncated);
        Assert.Equal([1], paged.Parts.Select(p => p.PartNumber!.Value));
        var rest = await s3.ListPartsAsync(new ListPartsRequest { BucketName = "mp-list", Key = "pending/one.bin", UploadId = init.UploadId, PartNumberMarker = paged.NextPartNumberMarker?.ToString() });
        Assert.Equal([2], rest.Parts.Select(p => p.PartNumber!.Value));

        var uploads = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = "mp-list" });
        Assert.Equal(["pending/one.bin", "pending/two.bin"], uploads.MultipartUploads.Select(u => u.Key));
        Assert.Contains(uploads.MultipartUploads, u => u.UploadId == init.UploadId);

        await s3.AbortMultipartUploadAsync("mp-list", "pending/one.bin", init.UploadId);
        var aborted = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.ListPartsAsync(new ListPartsRequest { BucketName = "mp-list", Key = "pending/one.bin", UploadId = init.UploadId }));
        Assert.Equal("NoSuchUpload", aborted.ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, aborted.StatusCode);
        var after = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = "mp-list" });
        Assert.Equal([other.UploadId], after.MultipartUploads.Select(u => u.UploadId));
        await s3.AbortMultipartUploadAsync("mp-list", "pending/two.bin", other.UploadId);
    }
}
