using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Coffre.Bench.Gateway;

/// <summary>The PUT and GET rounds the gateway benchmarks time through a real `coffre serve` (placement, recovery).</summary>
public static class Transfers
{
    /// <summary>An S3 client of a <see cref="CoffreProcess"/>: no retries (a failure must show), long timeout.</summary>
    public static AmazonS3Client Client(string endpoint) => new(new BasicAWSCredentials(CoffreProcess.AccessKey, CoffreProcess.SecretKey),
        new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0, Timeout = TimeSpan.FromMinutes(5) });

    /// <summary>Writes <paramref name="count"/> copies of <paramref name="body"/> as PREFIX00000…, <paramref name="concurrency"/> at a time.</summary>
    public static Task PutManyAsync(AmazonS3Client s3, string bucket, string prefix, int count, byte[] body, int concurrency) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"{prefix}{i:D5}", InputStream = new MemoryStream(body), AutoCloseStream = true }, ct));

    /// <summary>PUTs then GETs <paramref name="count"/> objects; their rates in MB/s of plaintext.</summary>
    public static async Task<(double Put, double Get)> PutGetAsync(AmazonS3Client s3, string bucket, string prefix, int count, byte[] body, int concurrency)
    {
        var t = Stopwatch.GetTimestamp();
        await PutManyAsync(s3, bucket, prefix, count, body, concurrency);
        var put = (double)count * body.Length / 1e6 / Stopwatch.GetElapsedTime(t).TotalSeconds;
        t = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            using var response = await s3.GetObjectAsync(bucket, $"{prefix}{i:D5}", ct);
            await response.ResponseStream.CopyToAsync(Stream.Null, ct);
        });
        return (put, (double)count * body.Length / 1e6 / Stopwatch.GetElapsedTime(t).TotalSeconds);
    }
}
