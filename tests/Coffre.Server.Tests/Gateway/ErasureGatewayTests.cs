using System.Diagnostics;
using System.Net;
using Amazon.S3;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Coffre.TestSupport;
using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// A 3-of-5 erasure-coded bucket over five providers (three local disks, moto, s3rver) behind the S3 face: no provider
/// holds a whole ciphertext, zfec (tools/verify_erasure.py) rebuilds each ciphertext from three of the shares the gateway
/// wrote, reads survive two providers down, or one down and a damaged share, writes without their quorum get a retryable 503, and
/// with fewer than three shares a GET is a 503, never bytes.
/// </summary>
public sealed class ErasureGatewayTests
{
    [Fact]
    public async Task A_coded_bucket_survives_two_providers_down_and_zfec_rebuilds_its_ciphertext()
    {
        using var moto = new MotoServer();
        using var s3rver = new S3rverServer(["cloud"]);
        await Task.WhenAll(moto.StartAsync(), s3rver.StartAsync());
        await moto.CreateBucketAsync("cloud");
        var root = Directory.CreateTempSubdirectory("coffre-coded-").FullName;
        S3BlobStoreOptions S3(ExternalServer server) => new()
        {
            Endpoint = server.Endpoint, Bucket = "cloud", ForcePathStyle = true, AccessKeyId = server.AccessKey, SecretAccessKey = server.SecretKey,
            Timeout = TimeSpan.FromSeconds(5), RequestTimeout = TimeSpan.FromSeconds(5),
        };
        string[] order = ["d0", "moto", "d1", "s3rver", "d2"];
        await using var gateway = await GatewayServer.StartAsync(configure: o =>
        {
            foreach (var d in new[] { "d0", "d1", "d2" })
                o.Backends[d] = new BackendOptions { Type = "local", Path = Path.Combine(root, d), Facts = new FactsOptions { Country = "FR", Operator = "Op " + d, Jurisdiction = "FR" } };
            o.Backends["moto"] = new BackendOptions { Type = "s3", S3 = S3(moto), Facts = new FactsOptions { Country = "FR", Operator = "Op moto", Jurisdiction = "FR" } };
            o.Backends["s3rver"] = new BackendOptions { Type = "s3", S3 = S3(s3rver), Facts = new FactsOptions { Country = "FR", Operator = "Op s3rver", Jurisdiction = "FR" } };
            o.DefaultPlacement = new PlacementPolicy { Backends = ["d0"] };
            o.Buckets["coded"] = new BucketOptions
            {
                Placement = new PlacementPolicy { Backends = [.. order], DistinctBy = ["Operator"], Erasure = new ErasurePolicy { K = 3, N = 5 } },
            };
        });
        // The same backends as the gateway sees them, opened beside it.
        using var blobs = (PlacementBlobStore)BackendsConfiguration.Create(gateway.Options, gateway.DataDirectory);
        using var s3 = NoRetryClient(gateway);
        await s3.PutBucketAsync("coded");
        var objects = new[] { 0, 1, 4321, 196_608, 1_000_003, 3_500_000 }.Select((size, i) => ($"obj-{i}", Pattern(size, 100 + i))).ToList();
        foreach (var (name, data) in objects) await s3.PutBytesAsync("coded", name, data);

        var scratch = Directory.CreateTempSubdirectory("coffre-coded-shares-").FullName;
        foreach (var (name, data) in objects)
        {
            Assert.Equal(data, await s3.GetBytesAsync("coded", name));
            if (data.Length > 10) Assert.Equal(data[7..^3], await s3.GetBytesAsync("coded", name, $"bytes=7-{data.Length - 4}"));
            var part = Assert.Single(await PartsAsync(gateway, "coded", name));
            var files = new List<string>();
            foreach (var backend in order)
            {
                await using var share = await blobs.Backend(backend).GetAsync(part.Blob);
                Assert.True(share.TotalLength < part.CipherSize / 3 + 200, $"{backend} holds {share.TotalLength} bytes of a {part.CipherSize}-byte ciphertext");
                var file = Path.Combine(scratch, $"{name}.{backend}");
                await using (var f = File.Create(file)) await share.Content.CopyToAsync(f);
                files.Add(file);
            }
            // zfec, from three shares (the parity ones among them), against the ciphertext the catalog recorded.
            var rebuilt = RebuildWithZfec([files[4], files[3], files[1]]);
            Assert.Equal(part.CipherSize, rebuilt.Length);
            Assert.Equal(part.Header, rebuilt[..part.Header.Length]);
            await using var whole = await blobs.GetAsync(part.Blob); // read outside any bucket's scope, as background jobs do
            var ms = new MemoryStream();
            await whole.Content.CopyToAsync(ms);
            Assert.Equal(ms.ToArray(), rebuilt);
        }

        // A damaged share on d0 (a systematic share, read first): left out, reads stay whole and correct, with one provider down too.
        var d0File = Directory.EnumerateFiles(Path.Combine(root, "d0"), "*.d", SearchOption.AllDirectories)
            .Single(f => new FileInfo(f).Length > 1_000_000);
        var bytes = await File.ReadAllBytesAsync(d0File);
        bytes[bytes.Length / 3] ^= 0x08;
        await File.WriteAllBytesAsync(d0File, bytes);
        foreach (var (name, data) in objects) Assert.Equal(data, await s3.GetBytesAsync("coded", name));
        moto.Stop();
        foreach (var (name, data) in objects) Assert.Equal(data, await s3.GetBytesAsync("coded", name));
        // Two providers down: every object whose shares are intact reads; the damaged stripe of obj-5 has two good shares
        // left, so its GET fails (here mid-body) rather than hand out a byte it could not check.
        s3rver.Stop();
        foreach (var (name, data) in objects.Where(o => o.Item1 != "obj-5")) Assert.Equal(data, await s3.GetBytesAsync("coded", name));
        Assert.NotNull(await Record.ExceptionAsync(() => s3.GetBytesAsync("coded", "obj-5")));
        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutBytesAsync("coded", "during-outage", Pattern(10_000, 9)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);

        // A third share lost: fewer than K, a retryable 503 (two providers are only down), and no byte of a guess.
        Directory.Delete(Path.Combine(root, "d2"), recursive: true);
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetBytesAsync("coded", "obj-3"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Directory.Delete(scratch, recursive: true);
        Directory.Delete(root, recursive: true);
    }

    private static byte[] RebuildWithZfec(IReadOnlyList<string> shareFiles)
    {
        var script = Path.Combine(Tools.FindRepositoryRoot()!, "tools", "verify_erasure.py");
        var output = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { script, "--rebuild", output }.Concat(shareFiles)) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "verify_erasure.py (python3-zfec is required: .ci/install-test-deps.sh installs it): " + err);
            return File.ReadAllBytes(output);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
