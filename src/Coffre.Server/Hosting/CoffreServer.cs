using System.Net;
using Coffre.Kms;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;
using Coffre.Kms.Keys;
using Coffre.Server.Auth;
using Coffre.Server.Kms;
using Coffre.Server.Observability;
using Coffre.Server.S3;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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
    /// <summary>
    /// The web application builder of a gateway whose appsettings.json may lie in <paramref name="contentRoot"/>.
    /// Configuration is read once, at start: reloading it on change would watch the content root recursively,
    /// and the default data directory (./coffre-data) lies inside it, so every blob written would wake the
    /// file watcher (1.5 to 2.4 % of the gateway's CPU in the small-object benchmark).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string contentRoot) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"], ContentRootPath = contentRoot });

    /// <summary>
    /// Builds and starts a gateway inside this process, logging nothing, with any appsettings.json in the data
    /// directory: for tests, benchmarks and embedding. Returns it with the address it listens on, which is how the
    /// caller learns the port when <see cref="CoffreServerOptions.Listen"/> asks for port 0.
    /// </summary>
    /// <param name="dataKeys">See <see cref="ObjectServices"/>: null (the audited key manager) except in benchmarks.</param>
    /// <param name="logs">Where the gateway's logs go (a test's in-memory provider); null: nowhere.</param>
    public static async Task<(WebApplication App, string Endpoint)> StartInProcessAsync(CoffreServerOptions options, string dataDirectory, KeyManager keys,
        Coffre.Objects.Keys.IDataKeyService? dataKeys = null, ILoggerProvider? logs = null)
    {
        var builder = CreateBuilder(dataDirectory);
        builder.Logging.ClearProviders();
        if (logs is not null) builder.Logging.AddProvider(logs);
        var app = Build(options, dataDirectory, keys, builder, dataKeys);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return (app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <param name="dataKeys">See <see cref="ObjectServices"/>: null (the audited key manager) except in benchmarks.</param>
    public static WebApplication Build(CoffreServerOptions options, string dataDirectory, KeyManager keys, WebApplicationBuilder builder,
        Coffre.Objects.Keys.IDataKeyService? dataKeys = null)
    {
        var (address, port) = ParseListen(options.Listen);
        if (!IPAddress.IsLoopback(address) && options.CertificatePath is null && !options.AllowInsecureHttp)
            throw new InvalidOperationException(
                $"Refusing to serve plain HTTP on {options.Listen}, which is not a loopback address: set Coffre:CertificatePath " +
                "(HTTPS), or Coffre:AllowInsecureHttp=true if a TLS proxy stands in front.");
        keys.AuditSynchronousNormal = options.AuditSynchronous.ToUpperInvariant() switch
        {
            "FULL" => false,
            "NORMAL" => true,
            var other => throw new InvalidOperationException($"Coffre:AuditSynchronous '{other}' is not FULL or NORMAL."),
        };
        // (ObjectServices raises the thread pool minimum for blocking commit waits.)
        var accessKeys = new AccessKeyDirectory(options.AccessKeys);
        var objects = new ObjectServices(options, dataDirectory, keys, TimeProvider.System, dataKeys);
        var store = objects.Store;

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
        builder.Services.AddSingleton(objects.Rewrapper);
        builder.Services.AddSingleton(new AuditCheckpointer(keys, new SqliteAuditCheckpointStore(Path.Combine(dataDirectory, KeyManager.StoreFileName))));
        builder.Services.AddSingleton(accessKeys);
        builder.Services.AddSingleton<Metrics>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new SigV4Verifier(accessKeys, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new S3Face(store, accessKeys, sp.GetRequiredService<Metrics>(),
            sp.GetRequiredService<ILogger<S3Face>>(), options.Region));
        if (options.KmsAccountId is not { Length: 12 } || !options.KmsAccountId.All(char.IsAsciiDigit))
            throw new InvalidOperationException($"Coffre:KmsAccountId '{options.KmsAccountId}' is not a 12-digit account id.");
        var arns = new KmsArn(options.KmsAccountId);
        var kmsAccess = new KmsAccess(keys, arns);
        builder.Services.AddSingleton(arns);
        builder.Services.AddSingleton(kmsAccess);
        builder.Services.AddSingleton(new KmsOperations(keys, arns, kmsAccess));
        builder.Services.AddSingleton<KmsFace>();
        builder.Services.AddHostedService<MaintenanceService>();

        var app = builder.Build();
        var metrics = app.Services.GetRequiredService<Metrics>();
        metrics.AddCounter("coffre_rewrap_objects_total", "Objects whose data key this server rewrapped.", () => objects.Rewrapper.RewrappedTotal);
        // Records over commits is the mean group-commit batch: each commit is one fsync of the key store.
        metrics.AddCounter("coffre_audit_records_total", "Audit records of data-key and KMS uses committed by group commit (key-state changes commit their own).",
            () => keys.AuditCommitStatistics.Records);
        metrics.AddCounter("coffre_audit_commits_total", "Audit group commits (each one durable write of the key store).",
            () => keys.AuditCommitStatistics.Commits);
        var s3Face = app.Services.GetRequiredService<S3Face>();
        metrics.AddCounter("coffre_integrity_failures_total", "S3 requests that found an object's ciphertext missing or damaged at the storage backend.",
            () => s3Face.IntegrityFailures);
        metrics.AddCounter("coffre_backend_unavailable_total", "S3 requests failed (503) because the storage backend was unreachable, timed out or failed.",
            () => s3Face.BackendUnavailable);
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/metrics", (Metrics m) => Results.Text(m.Render(), "text/plain; version=0.0.4"));
        // Not app.Run: a terminal middleware runs before the implicit endpoint middleware that
        // WebApplication appends, so /healthz and /metrics would never be reached (they were
        // answered 403 by SigV4). Matched endpoints go on; everything else is S3.
        app.Use((context, next) => context.GetEndpoint() is null ? Dispatch(context, app.Services) : next(context));
        return app;
    }

    private static async Task Dispatch(HttpContext http, IServiceProvider services)
    {
        ExpectContinueGuard.Apply(http);
        var verifier = services.GetRequiredService<SigV4Verifier>();
        var request = SigV4RequestAdapter.FromHttpRequest(http.Request);
        // KMS (X-Amz-Target: TrentService.*, or signed for service "kms"): JSON bodies are small and their
        // hash is signed but not sent, so the body is read (bounded) and hashed before verification.
        var isKms = KmsFace.IsKmsRequest(http.Request);
        byte[]? kmsBody = null;
        if (isKms)
        {
            kmsBody = await KmsFace.ReadBodyAsync(http.Request);
            if (kmsBody is null)
            {
                services.GetRequiredService<Metrics>().Request("kms", "Authenticate", KmsErrors.Validation, TimeSpan.Zero);
                await KmsFace.WriteErrorAsync(http, KmsErrors.Validation, $"The request body is larger than {KmsFace.MaxBodyBytes} bytes.");
                return;
            }
            if (SigV4Verifier.RequiresBodyHash(request))
                request = request.WithPayloadHash(SigV4Canonicalizer.Sha256Hex(kmsBody));
        }
        var result = verifier.Verify(request);
        if (!result.IsSuccess)
        {
            if (isKms || result.Service == "kms")
            {
                var code = result.Error.ToKmsCode();
                services.GetRequiredService<Metrics>().Request("kms", "Authenticate", code, TimeSpan.Zero);
                await KmsFace.WriteErrorAsync(http, code, result.Message);
                return;
            }
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
            await S3Face.WriteErrorAsync(http, s3Error, result.Message, S3Face.NewRequestId(), extra);
            return;
        }
        var auth = result.Context!;
        if (isKms || auth.Service == "kms")
        {
            kmsBody ??= await KmsFace.ReadBodyAsync(http.Request);
            string? refusal = null;
            if (kmsBody is null) refusal = $"The request body is larger than {KmsFace.MaxBodyBytes} bytes.";
            else if (auth.IsStreaming) refusal = "KMS requests cannot use a streaming (aws-chunked) payload.";
            else if (auth.PayloadMode == PayloadMode.SignedHash
                     && !string.Equals(auth.ExpectedPayloadHash, SigV4Canonicalizer.Sha256Hex(kmsBody), StringComparison.OrdinalIgnoreCase))
            {
                await KmsFace.WriteErrorAsync(http, "InvalidSignatureException", "The x-amz-content-sha256 header does not match the request body.");
                return;
            }
            if (refusal is not null)
            {
                await KmsFace.WriteErrorAsync(http, KmsErrors.Validation, refusal);
                return;
            }
            try
            {
                await services.GetRequiredService<KmsFace>().HandleAsync(http, auth, kmsBody);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(kmsBody); // Encrypt plaintexts arrive in the body
            }
            return;
        }
        if (auth.Service == "s3")
        {
            await services.GetRequiredService<S3Face>().HandleAsync(http, auth);
            return;
        }
        await S3Face.WriteErrorAsync(http, S3Error.NotImplemented, $"The service '{auth.Service}' is not served here.", S3Face.NewRequestId(), null);
    }

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
