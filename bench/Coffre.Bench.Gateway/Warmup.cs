using Amazon.S3.Model;

namespace Coffre.Bench.Gateway;

/// <summary>
/// Runs PUTs and GETs of 16 MiB and 4 KiB objects through a gateway for a while before anything is measured: the KMS
/// benchmark found about 10 s of JIT compilation and dynamic PGO before a .NET server reaches its steady state.
/// </summary>
public static class Warmup
{
    public static async Task RunAsync(S3Endpoint gateway, string bucket, int seconds)
    {
        if (seconds <= 0) return;
        Report.Progress($"warming up {gateway.Url} for {seconds} s");
        using var s3 = SdkClient.Connect(gateway);
        var large = new byte[16 << 20];
        var small = new byte[4096];
        Random.Shared.NextBytes(large);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "warmup-large", InputStream = new MemoryStream(large) });
            using (var get = await s3.GetObjectAsync(bucket, "warmup-large")) await get.ResponseStream.CopyToAsync(Stream.Null);
            for (var i = 0; i < 20; i++)
            {
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "warmup-small", InputStream = new MemoryStream(small), UseChunkEncoding = false });
                using var get = await s3.GetObjectAsync(bucket, "warmup-small");
                await get.ResponseStream.CopyToAsync(Stream.Null);
            }
        }
    }
}
