using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.TestSupport;

namespace Coffre.Cli.Tests;

/// <summary>
/// What `coffre recover` does with a multipart upload in progress when the catalog was lost (docs/operations.md,
/// "Recovering the catalog"): the upload is gone, as if aborted; its client gets NoSuchUpload and starts again, which
/// then works; the completed objects beside it are all back.
/// </summary>
public sealed class RecoverUploadsTests
{
    [Fact]
    public async Task An_unfinished_upload_is_aborted_by_recovery_and_can_be_started_again()
    {
        using var dir = new TempDir();
        var data = dir["data"];
        string uploadId;
        var part = new byte[5 * 1024 * 1024];
        Random.Shared.NextBytes(part);
        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client();
            await s3.PutBucketAsync("uploads");
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "uploads", Key = "done.txt", ContentBody = "complete" });
            uploadId = (await s3.InitiateMultipartUploadAsync("uploads", "big.bin")).UploadId;
            await s3.UploadPartAsync(new UploadPartRequest { BucketName = "uploads", Key = "big.bin", UploadId = uploadId, PartNumber = 1, InputStream = new MemoryStream(part) });
        }
        foreach (var file in Directory.GetFiles(data, "catalog.db*")) File.Delete(file);
        var report = Cli.Run(["recover", "--json", "--data", data], passphrase: CoffreServeProcess.Passphrase, timeout: TimeSpan.FromMinutes(5)).Json();
        Assert.Empty(report.GetProperty("unmatched").EnumerateArray());

        using (var serve = await CoffreServeProcess.StartAsync(data))
        {
            using var s3 = serve.CreateS3Client(maxErrorRetry: 0);
            Assert.Empty((await s3.ListMultipartUploadsAsync("uploads")).MultipartUploads ?? []);
            var gone = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "uploads", Key = "big.bin", UploadId = uploadId, PartNumber = 2, InputStream = new MemoryStream(part),
            }));
            Assert.Equal(("NoSuchUpload", HttpStatusCode.NotFound), (gone.ErrorCode, gone.StatusCode));

            var again = (await s3.InitiateMultipartUploadAsync("uploads", "big.bin")).UploadId;
            var etag = (await s3.UploadPartAsync(new UploadPartRequest { BucketName = "uploads", Key = "big.bin", UploadId = again, PartNumber = 1, InputStream = new MemoryStream(part) })).ETag;
            await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = "uploads", Key = "big.bin", UploadId = again, PartETags = [new PartETag(1, etag)] });
            using var big = await s3.GetObjectAsync("uploads", "big.bin");
            var body = new MemoryStream();
            await big.ResponseStream.CopyToAsync(body);
            Assert.Equal(part, body.ToArray());
            using var done = await s3.GetObjectAsync("uploads", "done.txt");
            Assert.Equal("complete", await new StreamReader(done.ResponseStream).ReadToEndAsync());
        }
    }
}
