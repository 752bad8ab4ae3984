using Amazon.Runtime;
using Amazon.S3;
using Coffre.Kms.Keys;
using Coffre.Server.Auth;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.TestSupport;
using Microsoft.AspNetCore.Builder;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// A real Coffre gateway on a free loopback port, in this process: real key manager (SQLite),
/// real catalog, and a real backend (local disk, or a moto/s3rver server the caller started).
/// </summary>
public sealed class GatewayServer : IAsyncDisposable
{
    public const string AccessKey = "AKIACOFFRETEST000001";
    public const string SecretKey = "coffre-test-secret-key-0000000000000001";
    public const string Passphrase = "test passphrase, not for production";

    private readonly WebApplication _app;

    public string Endpoint { get; }
    public string DataDirectory { get; }
    /// <summary>What the gateway runs on (root of trust, key database, key manager).</summary>
    public Deployment Deployment { get; }
    public KeyManager Keys { get; }
    public CoffreServerOptions Options { get; }

    /// <summary>The gateway's services (its Rewrapper, ObjectStore...).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Where the backend keeps its bytes on disk (local disk root, or the s3rver directory), for canary scans.</summary>
    public string? BackendDirectory { get; }

    private GatewayServer(WebApplication app, string endpoint, Deployment deployment, CoffreServerOptions options, string? backendDirectory)
    {
        _app = app;
        Endpoint = endpoint;
        Deployment = deployment;
        DataDirectory = deployment.DataDirectory;
        Keys = deployment.Keys;
        Options = options;
        BackendDirectory = backendDirectory;
    }

    /// <summary>Starts a gateway. With <paramref name="s3Backend"/>, ciphertext goes to that S3 server (bucket created here); else to local disk.</summary>
    /// <param name="kmsOptions">Key manager options (default <see cref="KmsOptions.InsecureForTests"/>).</param>
    /// <param name="logs">Receives the gateway's logs (e.g. <see cref="MemoryLogs"/>); by default they go nowhere.</param>
    /// <param name="database">A PostgreSQL connection string for keys, audit trail and catalog; null: SQLite in the data directory.</param>
    public static async Task<GatewayServer> StartAsync(ExternalServer? s3Backend = null, Action<CoffreServerOptions>? configure = null,
        KmsOptions? kmsOptions = null, Microsoft.Extensions.Logging.ILoggerProvider? logs = null, string? database = null)
    {
        var dataDirectory = Directory.CreateTempSubdirectory("coffre-gw-").FullName;
        var deployment = await Deployment.InitializeAsync(new DeploymentLocation(dataDirectory, database), Passphrase, kmsOptions ?? KmsOptions.InsecureForTests);
        var keys = deployment.Keys;
        keys.CreateKey("default", "test default key", KeyManager.SystemPrincipal);
        var options = new CoffreServerOptions
        {
            Listen = "127.0.0.1:0",
            AccessKeys = [AccessKeyOptions.WithAllGrants(AccessKey, SecretKey)],
            MaintenanceInterval = TimeSpan.FromHours(1),
        };
        string? backendDirectory;
        if (s3Backend is not null)
        {
            var bucket = "coffre-backend-" + Guid.NewGuid().ToString("N")[..8];
            await s3Backend.CreateBucketAsync(bucket);
            options.Backend = new BackendOptions
            {
                Type = "s3",
                S3 = new S3BlobStoreOptions
                {
                    Endpoint = s3Backend.Endpoint, Region = s3Backend.Region, Bucket = bucket, ForcePathStyle = true,
                    AccessKeyId = s3Backend.AccessKey, SecretAccessKey = s3Backend.SecretKey, AllowInsecureHttp = true,
                },
            };
            backendDirectory = s3Backend.DataDirectory;
        }
        else
        {
            backendDirectory = Path.Combine(dataDirectory, "objects");
        }
        configure?.Invoke(options);

        var (app, address) = await CoffreServer.StartInProcessAsync(options, deployment, logs: logs);
        return new GatewayServer(app, address.TrimEnd('/'), deployment, options, backendDirectory);
    }

    /// <summary>An AWSSDK.S3 client on its default settings (aws-chunked bodies with trailing checksums), path-style.</summary>
    public AmazonS3Client CreateClient(string accessKey = AccessKey, string secretKey = SecretKey) =>
        new(new BasicAWSCredentials(accessKey, secretKey), new AmazonS3Config
        {
            ServiceURL = Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            UseHttp = true,
        });

    /// <summary>Environment for command-line clients (aws, rclone, s3cmd) pointed at this gateway.</summary>
    public IDictionary<string, string?> ClientEnvironment() => new Dictionary<string, string?>
    {
        ["AWS_ACCESS_KEY_ID"] = AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_DEFAULT_REGION"] = "us-east-1",
        ["AWS_CA_BUNDLE"] = null, // set on this machine; breaks rclone 1.60 and is irrelevant over http
        ["AWS_CONFIG_FILE"] = "/dev/null",
        ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Deployment.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
