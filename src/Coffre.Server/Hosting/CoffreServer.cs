using System.Net;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Catalog;
using Coffre.Server.Auth;
using Coffre.Server.Observability;
using Coffre.Server.S3;
using Coffre.Server.Signing;
using Coffre.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Hosting;

/// <summary>
/// Composes the HTTP server: Kestrel on the configured address, /healthz, /metrics, and one
/// SigV4-authenticated entry point that hands each request to the S3 or KMS face according to the
/// service it was signed for.
/// </summary>
public static class CoffreServer
{
    public const string CatalogFileName = "catalog.db";

    public static WebApplication Build(CoffreServerOptions options, string dataDirectory, KeyManager keys, WebApplicationBuilder builder)
    {
        var (address, port) = ParseListen(options.Listen);
        if (!IPAddress.IsLoopback(address) && options.CertificatePath is null && !options.AllowInsecureHttp)
            throw new InvalidOperationException(
                $"Refusing to serve plain HTTP on {options.Listen}, which is not a loopback address: set Coffre:CertificatePath " +
                "(HTTPS), or Coffre:AllowInsecureHttp=true if a TLS proxy stands in front.");
        var accessKeys = new AccessKeyDirectory(options.AccessKeys);
        var blobs = CreateBackend(options.Backend, dataDirectory);
        var catalog = new ObjectCatalog(Path.Combine(dataDirectory, CatalogFileName));
        var store = new ObjectStore(catalog, blobs, new KmsDataKeyService(keys), new ObjectStoreOptions
        {
            DefaultKey = options.DefaultKey,
            BucketKeys = options.BucketKeys,
        }, TimeProvider.System);

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // S3 objects up to 5 GiB per request; bodies are streamed
            k.Listen(address, port, l =>
            {
                if (options.CertificatePath is { } cert) l.UseHttps(cert, options.CertificatePassword);
            });
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(keys);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(accessKeys);
        builder.Services.AddSingleton<Metrics>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new SigV4Verifier(accessKeys, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new S3Face(store, accessKeys, sp.GetRequiredService<Metrics>(),
            sp.GetRequiredService<ILogger<S3Face>>(), options.Region));
        builder.Services.AddHostedService<MaintenanceService>();

        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/metrics", (Metrics m) => Results.Text(m.Render(), "text/plain; version=0.0.4"));
        app.Run(context => Dispatch(context, app.Services));
        return app;
    }

    private static async Task Dispatch(HttpContext http, IServiceProvider services)
    {
        ExpectContinueGuard.Apply(http);
        var verifier = services.GetRequiredService<SigV4Verifier>();
        var request = SigV4RequestAdapter.FromHttpRequest(http.Request);
        var result = verifier.Verify(request);
        if (!result.IsSuccess)
        {
            var s3Error = new S3Error(result.Error.ToS3Code(), result.Error.ToS3HttpStatus(), result.Message);
            Dictionary<string, string>? extra = null;
            if (result.Error == SigV4Error.SignatureDoesNotMatch)
            {
                extra = new Dictionary<string, string>();
                if (result.AccessKeyId is { } ak) extra["AWSAccessKeyId"] = ak;
                if (result.StringToSign is { } sts) extra["StringToSign"] = sts;
                if (result.CanonicalRequest is { } cr) extra["CanonicalRequest"] = cr;
            }
            services.GetRequiredService<Metrics>().Request(result.Service ?? "s3", "Authenticate", s3Error.Code, TimeSpan.Zero);
            await S3Face.WriteErrorAsync(http, s3Error, result.Message, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)), extra);
            return;
        }
        var auth = result.Context!;
        if (auth.Service == "s3")
        {
            await services.GetRequiredService<S3Face>().HandleAsync(http, auth);
            return;
        }
        await S3Face.WriteErrorAsync(http, S3Error.NotImplemented, $"The service '{auth.Service}' is not served here.", "0", null);
    }

    public static IBlobStore CreateBackend(BackendOptions backend, string dataDirectory) => backend.Type.ToLowerInvariant() switch
    {
        "local" => new LocalDiskBlobStore(backend.Path ?? Path.Combine(dataDirectory, "objects")),
        "s3" => new S3BlobStore(backend.S3 ?? throw new InvalidOperationException("Coffre:Backend:Type is s3 but Coffre:Backend:S3 is not configured.")),
        var other => throw new InvalidOperationException($"Unknown backend type '{other}' in Coffre:Backend:Type: use 'local' or 's3'."),
    };

    public static (IPAddress Address, int Port) ParseListen(string listen)
    {
        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen[(colon + 1)..], out var port) || port is < 0 or > 65535)
            throw new InvalidOperationException($"Listen address '{listen}' is not HOST:PORT.");
        var host = listen[..colon].Trim('[', ']');
        var address = host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(host, out var ip) ? ip
            : throw new InvalidOperationException($"Listen host '{host}' is not an IP address (or localhost).");
        return (address, port);
    }
}
