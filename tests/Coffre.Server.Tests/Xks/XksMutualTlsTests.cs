using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Coffre.Server.Tests.Gateway;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using static Coffre.Server.Tests.Xks.XksTestServer;

namespace Coffre.Server.Tests.Xks;

/// <summary>
/// The XKS face on a listener of its own with HTTPS and mutual TLS: AWS KMS's client certificate (CN=cks.kms.REGION.amazonaws.com,
/// chained to the configured CA) is required; another subject, another CA or no certificate ends the handshake; the main
/// listener no longer serves the face.
/// </summary>
public sealed class XksMutualTlsTests : IAsyncLifetime
{
    private const string Subject = "cks.kms.eu-west-3.amazonaws.com";
    private readonly string _dir = Directory.CreateTempSubdirectory("coffre-xks-tls-").FullName;
    private XksTestServer _xks = null!;
    private string _xksUrl = "";
    private X509Certificate2 _aws = null!, _wrongSubject = null!, _wrongCa = null!;

    public async Task InitializeAsync()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Test Amazon Root", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        await File.WriteAllTextAsync(Path.Combine(_dir, "ca.pem"), ca.ExportCertificatePem());
        _aws = Issue(Subject, ca);
        _wrongSubject = Issue("cks.kms.us-east-1.amazonaws.com", ca);
        using var otherCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var otherRequest = new CertificateRequest("CN=Other Root", otherCaKey, HashAlgorithmName.SHA256);
        otherRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherCa = otherRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        _wrongCa = Issue(Subject, otherCa);

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(san.Build());
        using var server = serverRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        await File.WriteAllBytesAsync(Path.Combine(_dir, "server.pfx"), server.Export(X509ContentType.Pfx, "pfx-password"));

        _xks = await StartAsync(o =>
        {
            o.Xks.Listen = "127.0.0.1:0";
            o.Xks.CertificatePath = Path.Combine(_dir, "server.pfx");
            o.Xks.CertificatePassword = "pfx-password";
            o.Xks.ClientCertificate = new() { CaPath = Path.Combine(_dir, "ca.pem"), Subject = Subject };
        });
        var addresses = _xks.Gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        _xksUrl = addresses.Single(a => a.StartsWith("https://", StringComparison.Ordinal)).TrimEnd('/');
    }

    private static X509Certificate2 Issue(string commonName, X509Certificate2 issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var issuerKey = issuer.GetECDsaPrivateKey()!;
        using var signed = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(5), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);
        // Through PKCS#12, so that SslStream can use the key on Linux.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private static HttpClient Client(X509Certificate2? certificate) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
            LocalCertificateSelectionCallback = certificate is null ? null : (_, _, _, _, _) => certificate,
        },
    });

    private string Health(string baseUrl) => $"{baseUrl}/{Prefix}/kms/xks/v1/health";

    private static object HealthBody => new { requestMetadata = new { kmsRequestId = "1", kmsOperation = "KmsHealthCheck" } };

    [Fact]
    public async Task AWS_KMS_certificate_is_accepted()
    {
        using var client = Client(_aws);
        var answer = await _xks.PostAsync(Health(_xksUrl), HealthBody, client: client);
        Assert.Equal(200, answer.Status);
        // The load balancers' check on the same listener.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(_xksUrl + "/healthz")).StatusCode);
    }

    [Fact]
    public async Task Curl_with_the_client_certificate_reaches_the_face_and_without_it_the_handshake_fails()
    {
        var cert = Path.Combine(_dir, "client.pem");
        var key = Path.Combine(_dir, "client.key");
        await File.WriteAllTextAsync(cert, _aws.ExportCertificatePem());
        await File.WriteAllTextAsync(key, _aws.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var body = Path.Combine(_dir, "health.json");
        await File.WriteAllTextAsync(body, System.Text.Json.JsonSerializer.Serialize(HealthBody));
        async Task<(int Exit, string Out)> Curl(params string[] extra)
        {
            var psi = new ProcessStartInfo(Coffre.TestSupport.Tools.RequireExecutable("curl", "sudo apt-get install -y curl"))
                { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])["-sS", "-k", "--aws-sigv4", $"aws:amz:{Region}:kms-xks-proxy", "--user", $"{AccessKeyId}:{Secret}",
                         "-H", "Content-Type: application/json", "--data-binary", "@" + body, "-o", "/dev/null", "-w", "%{http_code}", .. extra, Health(_xksUrl)])
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            return (p.ExitCode, output);
        }
        var with = await Curl("--cert", cert, "--key", key);
        Assert.Equal((0, "200"), with);
        var without = await Curl();
        Assert.NotEqual(0, without.Exit);
    }

    [Theory]
    [InlineData("wrong subject")]
    [InlineData("wrong CA")]
    [InlineData("no certificate")]
    public async Task Another_subject_another_CA_or_no_certificate_ends_the_handshake(string which)
    {
        var certificate = which switch { "wrong subject" => _wrongSubject, "wrong CA" => _wrongCa, _ => null };
        using var client = Client(certificate);
        await Assert.ThrowsAsync<HttpRequestException>(() => _xks.PostAsync(Health(_xksUrl), HealthBody, client: client));
    }

    [Fact]
    public async Task The_main_listener_no_longer_serves_the_face()
    {
        var answer = await _xks.PostAsync(Health(_xks.Gateway.Endpoint), HealthBody);
        Assert.Equal((404, "InvalidUriPathException"), (answer.Status, answer.ErrorName));
    }

    public async Task DisposeAsync()
    {
        await _xks.DisposeAsync();
        foreach (var c in new[] { _aws, _wrongSubject, _wrongCa }) c?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
