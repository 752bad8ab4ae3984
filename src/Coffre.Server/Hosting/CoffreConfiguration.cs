using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Objects.Keys;
using Coffre.Objects.Catalog;
using Coffre.Sqlite.Objects;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Microsoft.Extensions.Configuration;

namespace Coffre.Server.Hosting;

/// <summary>
/// Where configuration comes from (ASP.NET conventions: appsettings.json in the current directory,
/// then in the data directory, then environment variables such as COFFRE__LISTEN), and the object
/// services built from it — shared by `coffre serve` and the commands that work on the same data.
/// </summary>
public static class CoffreConfiguration
{
    public const string Section = "Coffre";

    public static void AddSources(IConfigurationBuilder configuration, string dataDirectory)
    {
        configuration.AddJsonFile(Path.Combine(dataDirectory, "appsettings.json"), optional: true);
        configuration.AddEnvironmentVariables();
    }

    public static CoffreServerOptions Bind(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<CoffreServerOptions>() ?? new CoffreServerOptions();

    /// <summary>The options `coffre serve` would use, for commands that run beside (or without) a server.</summary>
    public static CoffreServerOptions Load(string dataDirectory)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true);
        AddSources(builder, dataDirectory);
        return Bind(builder.Build());
    }
}

/// <summary>The catalog, backend, object store and rewrapper of one data directory.</summary>
public sealed class ObjectServices
{
    public const string CatalogFileName = "catalog.db";

    public IObjectCatalog Catalog { get; }
    public IBlobStore Blobs { get; }
    public ObjectStore Store { get; }
    public Rewrapper Rewrapper { get; }

    /// <param name="dataKeys">The data-key service; by default the key manager's (audited). Another one is for
    /// benchmarks that measure what the audit costs.</param>
    public ObjectServices(CoffreServerOptions options, Deployment deployment, TimeProvider time, IDataKeyService? dataKeys = null)
    {
        Blobs = BackendsConfiguration.Create(options, deployment.DataDirectory);
        Catalog = deployment.OpenCatalog(time);
        if (Blobs is PlacementBlobStore placed) placed.RecordCopiesIn(Deployment.OpenBlobCopies(deployment.Location));
        dataKeys ??= new KmsDataKeyService(deployment.Keys);
        Store = new ObjectStore(Catalog, Blobs, dataKeys, new ObjectStoreOptions
        {
            DefaultKey = options.DefaultKey,
            BucketKeys = BackendsConfiguration.BucketKeys(options),
            MaxStreamSize = options.MaxUploadSize,
        }, time);
        Rewrapper = new Rewrapper(Catalog, Blobs, dataKeys, time);
    }

    /// <summary>The object catalog of a data directory: the one place the server and the CLI open it.</summary>
    public static IBlobStore CreateBackend(BackendOptions backend, string dataDirectory) => backend.Type.ToLowerInvariant() switch
    {
        "local" => new LocalDiskBlobStore(backend.Path ?? Path.Combine(dataDirectory, "objects")),
        "s3" => new S3BlobStore(backend.S3 ?? throw new InvalidOperationException("Coffre:Backend:Type is s3 but Coffre:Backend:S3 is not configured.")),
        var other => throw new InvalidOperationException($"Unknown backend type '{other}' in Coffre:Backend:Type: use 'local' or 's3'."),
    };
}
