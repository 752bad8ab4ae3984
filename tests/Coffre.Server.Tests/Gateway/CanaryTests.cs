using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// Recognisable plaintext goes through the gateway; then every byte the backend holds is scanned for it.
/// None of the body, metadata, file name or object name may reach the provider, in any common encoding.
/// </summary>
public abstract class CanaryTestsBase
{
    protected const string BodyCanary = "COFFRE-CANARY-BODY";
    protected const string MetaCanary = "COFFRE-CANARY-META";
    protected const string NameCanary = "COFFRE-CANARY-NAME.pdf";
    protected const string KeyCanary = "COFFRE-CANARY-KEY";
    protected const string MultipartKeyCanary = "COFFRE-CANARY-MPKEY";

    protected static byte[] CanaryBody(int size)
    {
        var unit = Encoding.UTF8.GetBytes(BodyCanary + " ");
        var body = new byte[size];
        for (var i = 0; i < size; i++) body[i] = unit[i % unit.Length];
        return body;
    }

    /// <summary>Writes the canary objects (a plain PUT, a multipart upload, and a copy), then rotates their key and rewraps them, so that their key sidecars are scanned too.</summary>
    protected static async Task WriteCanariesAsync(GatewayServer gateway)
    {
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("canary");
        var body = CanaryBody(300_000);
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "canary", Key = KeyCanary + "/report.pdf", InputStream = new MemoryStream(body),
            ContentType = "application/pdf",
            Headers = { ContentDisposition = $"attachment; filename=\"{NameCanary}\"" },
            Metadata = { ["owner"] = MetaCanary, ["note"] = MetaCanary + " second value" },
        });
        var init = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = "canary", Key = MultipartKeyCanary, Metadata = { ["owner"] = MetaCanary },
            Headers = { ContentDisposition = $"inline; filename=\"{NameCanary}\"" },
        });
        var big = CanaryBody(5 * 1024 * 1024 + 1000);
        var p1 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "canary", Key = MultipartKeyCanary, UploadId = init.UploadId, PartNumber = 1, InputStream = new MemoryStream(big, 0, 5 * 1024 * 1024) });
        var p2 = await s3.UploadPartAsync(new UploadPartRequest { BucketName = "canary", Key = MultipartKeyCanary, UploadId = init.UploadId, PartNumber = 2, InputStream = new MemoryStream(big, 5 * 1024 * 1024, 1000) });
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "canary", Key = MultipartKeyCanary, UploadId = init.UploadId, PartETags = [new PartETag(1, p1.ETag), new PartETag(2, p2.ETag)],
        });
        await s3.CopyObjectAsync("canary", KeyCanary + "/report.pdf", "canary", KeyCanary + "/copy.pdf");

        gateway.Keys.RotateKey("default", KeyManager.SystemPrincipal);
        Assert.Equal(new RewrapResult(3, 0, 0), await gateway.Services.GetRequiredService<Rewrapper>().RunAsync(new RewrapRequest(), KeyManager.SystemPrincipal));

        // Sanity: it all reads back.
        Assert.Equal(body, await s3.GetBytesAsync("canary", KeyCanary + "/report.pdf"));
        Assert.Equal(big, await s3.GetBytesAsync("canary", MultipartKeyCanary));
    }

    /// <summary>Every needle: the canary strings in UTF-8 and UTF-16, and base64 of the body at its three alignments.</summary>
    private static IEnumerable<(string What, byte[] Needle)> Needles()
    {
        foreach (var s in new[] { BodyCanary, MetaCanary, NameCanary, KeyCanary, MultipartKeyCanary, "COFFRE-CANARY" })
        {
            yield return ($"'{s}' UTF-8", Encoding.UTF8.GetBytes(s));
            yield return ($"'{s}' UTF-8 lowercase", Encoding.UTF8.GetBytes(s.ToLowerInvariant()));
            yield return ($"'{s}' UTF-16LE", Encoding.Unicode.GetBytes(s));
            yield return ($"'{s}' UTF-16BE", Encoding.BigEndianUnicode.GetBytes(s));
        }
        var body = CanaryBody(300);
        for (var shift = 0; shift < 3; shift++)
        {
            var b64 = Convert.ToBase64String(body, shift, 240);
            yield return ($"base64 of the body (shift {shift})", Encoding.ASCII.GetBytes(b64[..24]));
        }
        foreach (var s in new[] { BodyCanary, MetaCanary, NameCanary })
        {
            yield return ($"base64 of '{s}'", Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(s))[..16]));
        }
    }

    protected static void AssertNoCanary(IEnumerable<(string Origin, byte[] Bytes)> stored)
    {
        var total = 0L;
        var count = 0;
        foreach (var (origin, bytes) in stored)
        {
            count++;
            total += bytes.Length;
            foreach (var (what, needle) in Needles())
                Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"{what} found in {origin}");
        }
        // The scan saw the ciphertext (both objects and the copy), not an empty directory.
        Assert.True(count >= 3, $"only {count} stored items scanned");
        Assert.True(total > 5 * 1024 * 1024 + 600_000, $"only {total} stored bytes scanned");
    }

    /// <summary>Every file's content and its path (names must not leak through file names either).</summary>
    protected static IEnumerable<(string, byte[])> FilesAndNames(string directory)
    {
        foreach (var f in AllFiles(directory))
        {
            yield return (f, File.ReadAllBytes(f));
            yield return ("path " + f, Encoding.UTF8.GetBytes(Path.GetRelativePath(directory, f)));
        }
    }
}

public sealed class CanaryLocalDiskTests : CanaryTestsBase
{
    [Fact]
    public async Task Local_disk_backend_holds_no_plaintext_metadata_or_names()
    {
        await using var gateway = await GatewayServer.StartAsync();
        await WriteCanariesAsync(gateway);
        AssertNoCanary(FilesAndNames(gateway.BackendDirectory!));
    }
}

public sealed class CanaryS3rverTests : CanaryTestsBase
{
    [Fact]
    public async Task S3rver_backend_holds_no_plaintext_metadata_or_names()
    {
        using var s3rver = new S3rverServer();
        await s3rver.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(s3Backend: s3rver);
        await WriteCanariesAsync(gateway);
        AssertNoCanary(FilesAndNames(s3rver.DataDirectory));
    }
}

public sealed class CanaryMotoTests : CanaryTestsBase
{
    [Fact]
    public async Task Moto_backend_holds_no_plaintext_metadata_or_names()
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(s3Backend: moto);
        await WriteCanariesAsync(gateway);

        using var raw = moto.CreateClient();
        var stored = new List<(string, byte[])>();
        foreach (var bucket in (await raw.ListBucketsAsync()).Buckets)
        {
            stored.Add(("bucket name", Encoding.UTF8.GetBytes(bucket.BucketName)));
            var listed = await raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket.BucketName });
            foreach (var o in listed.S3Objects ?? [])
            {
                stored.Add(("key " + o.Key, Encoding.UTF8.GetBytes(o.Key)));
                using var got = await raw.GetObjectAsync(bucket.BucketName, o.Key);
                stored.Add(("body of " + o.Key, await ReadAllAsync(got.ResponseStream)));
                var meta = new StringBuilder();
                foreach (var name in got.Metadata.Keys) meta.Append(name).Append('=').Append(got.Metadata[name]).Append('\n');
                foreach (var name in got.Headers.Keys) meta.Append(name).Append('=').Append(got.Headers[name]).Append('\n');
                stored.Add(("metadata of " + o.Key, Encoding.UTF8.GetBytes(meta.ToString())));
            }
            // Uploads left in progress would hold data too.
            var uploads = await raw.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket.BucketName });
            foreach (var u in uploads.MultipartUploads ?? []) stored.Add(("upload " + u.Key, Encoding.UTF8.GetBytes(u.Key)));
        }
        AssertNoCanary(stored);
    }
}
