using System.Net;
using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Server.Admin;
using Coffre.Server.Audit;
using Coffre.Server.Auth;
using Coffre.Server.Cse;
using Coffre.Server.Ekm;
using Coffre.Server.Kms;
using Coffre.Server.Observability;
using Coffre.Server.S3;
using Coffre.Server.Signing;
using Coffre.Server.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration.Memory;
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
    /// ASP.NET logs two lines per request at Information; they are Warning here by default (below every other source,
    /// so appsettings.json or Logging__LogLevel__Microsoft.AspNetCore can lower them again): the optional access log
    /// (<see cref="CoffreServerOptions.AccessLog"/>) is the per-request record.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string contentRoot)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"], ContentRootPath = contentRoot });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
        });
        return builder;
    }

    /// <summary>
    /// Builds and starts a gateway inside this process, logging nothing, with any appsettings.json in the data
    /// directory: for tests, benchmarks and embedding. Returns it with the address it listens on, which is how the
    /// caller learns the port when <see cref="CoffreServerOptions.Listen"/> asks for port 0.
    /// </summary>
    /// <param name="dataKeys">See <see cref="ObjectServices"/>: null (the audited key manager) except in benchmarks.</param>
    /// <param name="logs">Where the gateway's logs go (a test's in-memory provider); null: nowhere.</param>
    public static async Task<(WebApplication App, string Endpoint)> StartInProcessAsync(CoffreServerOptions options, Deployment deployment,
        Coffre.Objects.Keys.IDataKeyService? dataKeys = null, ILoggerProvider? logs = null)
    {
        var builder = CreateBuilder(deployment.DataDirectory);
        builder.Logging.ClearProviders();
        if (logs is not null) builder.Logging.AddProvider(logs);
        var app = Build(options, deployment, builder, dataKeys);
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
    public static WebApplication Build(CoffreServerOptions options, Deployment deployment, WebApplicationBuilder builder,
        Coffre.Objects.Keys.IDataKeyService? dataKeys = null)
    {
        var dataDirectory = deployment.DataDirectory;
        var keys = deployment.Keys;
        ConfigurationCheck.ThrowIfInvalid(options, keys);
        PrivateFiles.RestrictProcessUmask();
        var repairedFiles = PrivateFiles.Enforce(dataDirectory);
        var (address, port) = ParseListen(options.Listen);
        keys.AuditSynchronousNormal = options.AuditSynchronous.Equals("NORMAL", StringComparison.OrdinalIgnoreCase);
        var storedAccessKeys = new AccessKeyManager(keys, deployment.AccessKeys);
        var accessKeys = new AccessKeyDirectory(options.AccessKeys, storedAccessKeys);
        var objects = new ObjectServices(options, deployment, TimeProvider.System, dataKeys);
        var store = objects.Store;

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // S3 objects up to 5 GiB per request; bodies are streamed
            k.Listen(address, port, l =>
            {
                if (options.CertificatePath is { } cert) l.UseHttps(cert, options.CertificatePassword);
            });
            Xks.XksListener.Configure(k, options.Xks);
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(keys);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(objects.Rewrapper);
        var checkpoints = new AuditCheckpointPublisher(new AuditCheckpointer(keys, deployment.Audit),
            AuditCheckpointSinks.Create(options.Audit, objects.Blobs));
        builder.Services.AddSingleton(checkpoints);
        builder.Services.AddSingleton(accessKeys);
        builder.Services.AddSingleton<Metrics>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new SigV4Verifier(accessKeys, sp.GetRequiredService<TimeProvider>(), SigV4Verifier.DefaultAllowedSkew,
            ["s3", "kms", AdminApi.Service])
        {
            PinnedRegion = options.PinRegion ? options.Region : null,
        });
        var domains = new S3Domains(options.Domains);
        builder.Services.AddSingleton(domains);
        builder.Services.AddSingleton(new HostNames(options.HostNames, domains));
        builder.Services.AddSingleton(sp => new SigV2Verifier(accessKeys, sp.GetRequiredService<TimeProvider>(), options.Region));
        builder.Services.AddSingleton(storedAccessKeys);
        builder.Services.AddSingleton(new RootUnsealer(Path.Combine(dataDirectory, Deployment.SealFileName), keys.SealOptions, TimeProvider.System));
        builder.Services.AddSingleton<SealApi>();
        builder.Services.AddSingleton<AdminApi>();
        builder.Services.AddHostedService<AccessKeyRefresher>();
        var arns = new KmsArn(options.KmsAccountId);
        var kmsAccess = new KmsAccess(keys, arns);
        builder.Services.AddSingleton(sp => new S3Face(store, accessKeys, sp.GetRequiredService<Metrics>(),
            sp.GetRequiredService<ILogger<S3Face>>(), options.Region, new ServerSideEncryption(kmsAccess, arns, options.Region), options.KmsAccountId,
            (objects.Blobs as Storage.Placement.PlacementBlobStore)?.Placement, options.S3.BlockPublicAccess));
        builder.Services.AddSingleton(arns);
        builder.Services.AddSingleton(kmsAccess);
        var kmsOperations = new KmsOperations(keys, arns, kmsAccess);
        builder.Services.AddSingleton(kmsOperations);
        builder.Services.AddSingleton<KmsFace>();
        if (options.Cse.Enabled)
        {
            builder.Services.AddSingleton(sp => new CseOperations(options.Cse, keys,
                new BearerTokens(options.Cse.AuthorizationIssuers, sp.GetRequiredService<TimeProvider>()),
                new BearerTokens(options.Cse.AuthenticationIssuers, sp.GetRequiredService<TimeProvider>(), cacheValidated: true)));
            builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<CseFace>(sp, options.Cse));
        }
        if (options.Ekm.Enabled)
        {
            builder.Services.AddSingleton(sp => new EkmOperations(options.Ekm, keys, new BearerTokens(options.Ekm.Issuers, sp.GetRequiredService<TimeProvider>())));
            builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<EkmFace>(sp, options.Ekm));
        }
        if (options.Dke.Enabled)
            builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<Dke.DkeFace>(sp, options.Dke, keys,
                new BearerTokens(options.Dke.Issuers, sp.GetRequiredService<TimeProvider>(), cacheValidated: true)));
        if (options.Xks.Enabled)
            builder.Services.AddSingleton(sp => new Xks.XksFace(options.Xks, keys, sp.GetRequiredService<Metrics>(),
                sp.GetRequiredService<ILogger<Xks.XksFace>>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new BackgroundLeases(deployment.Database.Leases, options.LeaseDuration,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<BackgroundLeases>>()));
        builder.Services.AddHostedService<MaintenanceService>();
        if (objects.Blobs is Storage.Placement.PlacementBlobStore placed)
        {
            builder.Services.AddSingleton(placed);
            builder.Services.AddSingleton(Deployment.OpenPlacementStates(deployment.Location));
            builder.Services.AddHostedService<PlacementStateRefresher>();
            builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<BackgroundRepair>(sp, objects.Catalog));
        }
        builder.Services.AddHostedService<AuditCheckpointService>();

        var app = builder.Build();
        foreach (var repaired in repairedFiles) app.Logger.LogWarning("{Repaired}", repaired);
        var metrics = app.Services.GetRequiredService<Metrics>();
        metrics.Declare(MetricFace.S3, S3Face.OperationNames, S3Face.ResultCodes);
        metrics.Declare(MetricFace.Kms, ["Authenticate", "Unknown", .. kmsOperations.Names], ["OK", .. KmsErrors.AllTypes]);
        metrics.Declare(MetricFace.Other, ["Authenticate"], S3Face.ResultCodes);
        metrics.Declare(MetricFace.Admin, AdminApi.OperationNames, AdminErrors.AllCodes);
        metrics.Declare(MetricFace.Cse, CseFace.OperationNames, CseErrors.AllCodes);
        metrics.Declare(MetricFace.Ekm, EkmFace.OperationNames, EkmErrors.AllCodes);
        metrics.Declare(MetricFace.Xks, Xks.XksFace.OperationNames, ["OK", .. Xks.XksErrors.AllNames]);
        metrics.Declare(MetricFace.Dke, Dke.DkeFace.OperationNames, Dke.DkeErrors.AllCodes);
        metrics.AddCounter("coffre_rewrap_objects_total", "Objects whose data key this server rewrapped.", () => objects.Rewrapper.RewrappedTotal);
        if (app.Services.GetService<BackgroundRepair>() is { } repair) RepairMetrics.Declare(metrics, repair);
        // Records over commits is the mean group-commit batch: each commit is one fsync of the key store.
        metrics.AddCounter("coffre_audit_records_total", "Audit records of data-key and KMS uses committed by group commit (key-state changes commit their own).",
            () => keys.AuditCommitStatistics.Records);
        metrics.AddCounter("coffre_audit_commits_total", "Audit group commits (each one durable write of the key store).",
            () => keys.AuditCommitStatistics.Commits);
        metrics.AddCounter("coffre_audit_checkpoint_publications_total", "Audit checkpoint copies published outside keys.db (one per sink per checkpoint).",
            () => checkpoints.Published);
        metrics.AddCounter("coffre_audit_checkpoint_publication_failures_total", "Audit checkpoint copies that could not be published (retried with the next checkpoint).",
            () => checkpoints.Failures);
        var s3Face = app.Services.GetRequiredService<S3Face>();
        metrics.AddCounter("coffre_integrity_failures_total", "S3 requests that found an object's ciphertext missing or damaged at the storage backend.",
            () => s3Face.IntegrityFailures);
        metrics.AddCounter("coffre_backend_unavailable_total", "S3 requests failed (503) because the storage backend was unreachable, timed out or failed.",
            () => s3Face.BackendUnavailable);
        metrics.AddCounter("coffre_s3_anonymous_requests_total", "S3 requests without a signature, served or refused as anonymous (ACLs, bucket policies).",
            () => s3Face.AnonymousRequests);
        // Sealed: 503 so that a load balancer sends no traffic here until an unseal (body "sealed", docs/operations.md).
        var databases = new DatabaseHealth(deployment.Database, objects.Catalog);
        app.MapGet("/healthz", async (CancellationToken ct) => keys.IsSealed
            ? Results.Text("sealed\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : await BackendHealthReport.HealthzAsync(objects.Blobs, databases, ct));
        BackendHealthReport.Declare(metrics, objects.Blobs);
        app.MapGet("/metrics", (Metrics m) => Results.Text(m.Render(), "text/plain; version=0.0.4"));
        // The Google faces authenticate by bearer tokens, not SigV4: their paths are endpoints, routed before the SigV4 entry point.
        if (options.Cse.Enabled) app.Services.GetRequiredService<CseFace>().Map(app);
        if (options.Ekm.Enabled) app.Services.GetRequiredService<EkmFace>().Map(app);
        if (options.Dke.Enabled) app.Services.GetRequiredService<Dke.DkeFace>().Map(app);
        // Not app.Run: a terminal middleware runs before the implicit endpoint middleware that
        // WebApplication appends, so /healthz and /metrics would never be reached (they were
        // answered 403 by SigV4). Matched endpoints go on; everything else is S3.
        // The XKS face authenticates with its own credentials, so it takes its requests before Dispatch's SigV4 check.
        if (options.AccessLog)
            app.Use(AccessLog.Middleware(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(AccessLog.Category)));
        var xks = app.Services.GetService<Xks.XksFace>();
        app.Use((context, next) => xks?.Owns(context) == true ? xks.HandleAsync(context)
            : context.GetEndpoint() is null ? Dispatch(context, app.Services) : next(context));
        return app;
    }

    private static async Task Dispatch(HttpContext http, IServiceProvider services)
    {
        ExpectContinueGuard.Apply(http);
        var metrics = services.GetRequiredService<Metrics>();
        var request = SigV4RequestAdapter.FromHttpRequest(http.Request);
        // The face answering a refusal before authentication: the claimed service, else the KMS shape of the request.
        var claimed = SigV4Verifier.ClaimedService(request);
        var isKms = claimed == "kms" || (claimed is null && KmsFace.IsKmsRequest(http.Request));
        var face = isKms ? MetricFace.Kms : claimed is null or "s3" ? MetricFace.S3 : MetricFace.Other;
        try
        {
            await DispatchAsync(http, services, metrics, request, face, isKms).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted)
        {
            // Kestrel's verdict on the framing of a body read before any face had the request (the KMS and admin bodies,
            // read whole to be hashed): the client's mistake, a 400 without a stack trace, as the S3 face answers it.
            var error = e.StatusCode == StatusCodes.Status408RequestTimeout ? S3Error.RequestTimeout : S3Error.MalformedBody;
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CoffreServer)).LogInformation("Malformed request body before authentication: {Message}", e.Message);
            await Refuse(http, metrics, face, error, $"{error.Message} ({e.Message})");
        }
        catch (Exception e) when (e is BadHttpRequestException or OperationCanceledException && http.RequestAborted.IsCancellationRequested)
        {
            metrics.Request(face, "Authenticate", "ClientAborted", TimeSpan.Zero);
        }
    }

    private static async Task DispatchAsync(HttpContext http, IServiceProvider services, Metrics metrics, SigV4Request request, MetricFace face, bool isKms)
    {
        if (services.GetRequiredService<HostNames>().Refusal(http.Request.Host) is { } hostRefusal)
        {
            await Refuse(http, metrics, face, S3Error.InvalidRequest, hostRefusal);
            return;
        }
        // Virtual-hosted style (Coffre:Domains): the Host names the bucket (whose keys may start with the admin prefix);
        // SigV2 signs it, the S3 face routes on it.
        var hostBucket = services.GetRequiredService<S3Domains>().BucketOf(http.Request.Host);
        if (hostBucket is null && AdminApi.IsAdminRequest(http.Request))
        {
            await services.GetRequiredService<AdminApi>().HandleAsync(http);
            return;
        }
        // A request without any signature is anonymous on the S3 face alone (S3Authorizer decides); a KMS one is refused below.
        if (!isKms && S3Face.IsAnonymous(http.Request))
        {
            await services.GetRequiredService<S3Face>().HandleAsync(http, null, hostBucket);
            return;
        }
        if (!isKms && SigV2Verifier.Claims(request))
        {
            await SigV2Entry.HandleAsync(http, services, metrics, request, hostBucket);
            return;
        }
        // Every service but s3 signs the hash of its body (SigV4Verifier): such bodies are small, read (bounded) and hashed first.
        byte[]? body = null;
        if (SigV4Verifier.RequiresBodyHash(request))
        {
            body = await KmsFace.ReadBodyAsync(http.Request);
            if (body is null)
            {
                await Refuse(http, metrics, face, S3Error.EntityTooLarge, $"The request body is larger than {KmsFace.MaxBodyBytes} bytes.");
                return;
            }
            request = request.WithPayloadHash(SigV4Canonicalizer.Sha256Hex(body));
        }
        var result = services.GetRequiredService<SigV4Verifier>().Verify(request);
        if (!result.IsSuccess)
        {
            if (isKms)
            {
                // As AWS KMS answers a credential scoped to another region.
                var code = result.ExpectedRegion is null ? result.Error.ToKmsCode() : "InvalidSignatureException";
                metrics.Request(MetricFace.Kms, "Authenticate", code, TimeSpan.Zero);
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
            if (result.ExpectedRegion is { } region) extra = new Dictionary<string, string> { ["Region"] = region };
            metrics.Request(face, "Authenticate", s3Error.Code, TimeSpan.Zero);
            await S3Face.WriteErrorAsync(http, s3Error, result.Message, S3Face.NewRequestId(), extra);
            return;
        }
        // Routed on the service the request was signed for, never on an unsigned header alone.
        var auth = result.Context!;
        switch (auth.Service)
        {
            case "kms":
                try
                {
                    await services.GetRequiredService<KmsFace>().HandleAsync(http, auth, body!);
                }
                finally
                {
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(body); // Encrypt plaintexts arrive in the body
                }
                return;
            case "s3":
                await services.GetRequiredService<S3Face>().HandleAsync(http, auth, hostBucket);
                return;
            default:
                await Refuse(http, metrics, MetricFace.Other, S3Error.NotImplemented, $"The service '{auth.Service}' is not served here.");
                return;
        }
    }

    /// <summary>A refusal before any face has the request: counted under "Authenticate" and answered in the face's shape
    /// (a KMS client gets a ValidationException, anyone else <paramref name="s3Error"/>).</summary>
    private static Task Refuse(HttpContext http, Metrics metrics, MetricFace face, S3Error s3Error, string message)
    {
        var isKms = face == MetricFace.Kms;
        metrics.Request(face, "Authenticate", isKms ? KmsErrors.Validation : s3Error.Code, TimeSpan.Zero);
        return isKms ? KmsFace.WriteErrorAsync(http, KmsErrors.Validation, message)
            : S3Face.WriteErrorAsync(http, s3Error, message, S3Face.NewRequestId(), null);
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
