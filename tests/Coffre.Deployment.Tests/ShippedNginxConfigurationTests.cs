using System.Diagnostics;
using System.Security.Cryptography;
using Coffre.TestSupport;

namespace Coffre.Deployment.Tests;

/// <summary>
/// The nginx configuration Coffre ships (deploy/nginx/coffre.conf) in front of `coffre serve`, driven by
/// the AWS CLI v2: SigV4 signatures survive the proxy (Host, request line, streamed bodies), keys with
/// "//" and metadata names with "_" arrive untouched, multipart uploads stream through.
/// </summary>
public sealed class ShippedNginxConfigurationTests
{
    [Fact]
    public async Task Signed_uploads_and_downloads_pass_through_the_shipped_configuration_untouched()
    {
        var data = Directory.CreateTempSubdirectory("coffre-lb-").FullName;
        try
        {
            using var coffre = await CoffreServeProcess.StartAsync(data);
            using var nginx = NginxServer.Start([coffre.Port]);
            var file = Path.Combine(data, "upload.bin");
            var content = RandomNumberGenerator.GetBytes(20 << 20); // above the CLI's 8 MiB multipart threshold
            await File.WriteAllBytesAsync(file, content);

            Aws(nginx, "s3", "mb", "s3://lb-bucket");
            const string key = "dir//with space/a_b.bin";
            Aws(nginx, "s3", "cp", file, $"s3://lb-bucket/{key}", "--metadata", "my_field=kept");
            var head = Aws(nginx, "s3api", "head-object", "--bucket", "lb-bucket", "--key", key);
            Assert.Contains("\"my_field\": \"kept\"", head);
            Assert.Contains("\"ContentLength\": " + content.Length, head);
            var back = Path.Combine(data, "download.bin");
            Aws(nginx, "s3", "cp", $"s3://lb-bucket/{key}", back);
            var downloaded = await File.ReadAllBytesAsync(back);
            Assert.True(content.SequenceEqual(downloaded), "the object came back different");
            var list = Aws(nginx, "s3api", "list-objects-v2", "--bucket", "lb-bucket", "--prefix", "dir//");
            Assert.Contains(key, list);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static string Aws(NginxServer nginx, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/aws")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--endpoint-url", nginx.Endpoint }.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["AWS_ACCESS_KEY_ID"] = CoffreServeProcess.AccessKey;
        psi.Environment["AWS_SECRET_ACCESS_KEY"] = CoffreServeProcess.SecretKey;
        psi.Environment["AWS_DEFAULT_REGION"] = "us-east-1";
        psi.Environment.Remove("AWS_CA_BUNDLE");
        psi.Environment["AWS_CONFIG_FILE"] = "/dev/null";
        psi.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null";
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"aws {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}\n{nginx.ErrorLog}");
        return stdout;
    }
}
