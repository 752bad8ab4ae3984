using Coffre.Server.Auth;

namespace Coffre.Server.Hosting;

/// <summary>The "Coffre" configuration section (appsettings.json, COFFRE__... environment variables, command line).</summary>
public sealed class CoffreServerOptions
{
    /// <summary>HOST:PORT to listen on. Anything but loopback requires a certificate, or AllowInsecureHttp.</summary>
    public string Listen { get; set; } = "127.0.0.1:9000";

    /// <summary>Serve plain HTTP on a non-loopback address. Off by default: credentials and data would cross the network in clear.</summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>PFX/PKCS#12 certificate for HTTPS, and its password.</summary>
    public string? CertificatePath { get; set; }
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Log one structured line per request under the category Coffre.AccessLog (docs/operations.md#access-log). Off by
    /// default; ASP.NET's own per-request lines stay at Warning either way unless Logging:LogLevel says otherwise.
    /// </summary>
    public bool AccessLog { get; set; }

    /// <summary>The region clients sign for; any region is accepted in signatures unless <see cref="PinRegion"/>, this one is reported.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Refuse requests signed for another region than <see cref="Region"/>, as AWS does (off by default: any region is accepted).</summary>
    public bool PinRegion { get; set; }

    /// <summary>The host names (without port) clients may address this server by; a request with another Host is refused (400). Empty: any.</summary>
    public List<string> HostNames { get; set; } = [];

    /// <summary>
    /// Domains of virtual-hosted-style S3 addressing (e.g. "s3.example.org"): Host "bucket.s3.example.org" addresses that
    /// bucket. Path style keeps working under every name. Empty: path style only.
    /// </summary>
    public List<string> Domains { get; set; } = [];

    /// <summary>The AWS account id in the key and alias ARNs of the KMS face (12 digits).</summary>
    public string KmsAccountId { get; set; } = "000000000000";

    /// <summary>
    /// Durability of the audit records of operations that change no state (Encrypt, Decrypt, data keys):
    /// "FULL" (default: fsync before answering) or "NORMAL" (no fsync per commit; faster under load, but a
    /// power failure can lose the last records of answered operations). State changes are always FULL.
    /// </summary>
    public string AuditSynchronous { get; set; } = "FULL";

    /// <summary>
    /// Npgsql connection string of the PostgreSQL database holding keys, audit trail and access keys, shared by every
    /// instance of the deployment (e.g. <c>Host=db;Database=coffre;Username=coffre;SSL Mode=VerifyFull</c>); empty: SQLite
    /// files in the data directory. The root of trust (root.seal) stays in the data directory either way.
    /// </summary>
    public string? Database { get; set; }

    /// <summary>A file whose first line is the database password (a mounted secret), instead of a Password in <see cref="Database"/>.</summary>
    public string? DatabasePasswordFile { get; set; }

    /// <summary>Key for buckets without their own; created at first start when missing.</summary>
    public string DefaultKey { get; set; } = "default";

    /// <summary>Bucket name → key name, alias or id.</summary>
    public Dictionary<string, string> BucketKeys { get; set; } = new(StringComparer.Ordinal);

    public List<AccessKeyOptions> AccessKeys { get; set; } = [];

    /// <summary>How often stored access keys are re-read (when they changed): the bound on how long a revocation, rotation or
    /// grant made with the CLI takes to reach a running server. Changes through the admin API apply at once.</summary>
    public TimeSpan AccessKeyRefreshInterval { get; set; } = AccessKeyDirectory.DefaultRefreshInterval;

    public BackendOptions Backend { get; set; } = new();

    /// <summary>Named backends with their facts (docs/operations.md, "Backends and placement"); empty: <see cref="Backend"/> alone, named "default".</summary>
    public Dictionary<string, BackendOptions> Backends { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The provider catalog file; null: the one shipped beside the binary (catalog/providers.json).</summary>
    public string? ProviderCatalog { get; set; }

    /// <summary>Placement of buckets without their own policy; null: one copy, on the first backend by name.</summary>
    public Storage.Placement.PlacementPolicy? DefaultPlacement { get; set; }

    /// <summary>Bucket name → its key and placement policy.</summary>
    public Dictionary<string, BucketOptions> Buckets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where audit checkpoints are published outside keys.db.</summary>
    public Audit.AuditOptions Audit { get; set; } = new();

    /// <summary>Rate limit of the background rewrap (objects per second), so that it never competes with clients; null: unlimited.</summary>
    public double? RewrapObjectsPerSecond { get; set; } = 200;

    /// <summary>
    /// The largest body of one PutObject or UploadPart, counted in plaintext bytes whatever the framing
    /// (Content-Length, HTTP chunked, aws-chunked); at most S3's 5 GiB, the default. A lower value caps what one request may write.
    /// </summary>
    public long MaxUploadSize { get; set; } = Objects.ObjectStoreOptions.MaxS3StreamSize;

    /// <summary>The AWS KMS External Key Store proxy face (docs/xks.md); off while no store is configured.</summary>
    public Xks.XksOptions Xks { get; set; } = new();

    /// <summary>How often background jobs (due key rotations and destructions, garbage collection) run.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the maintenance service checks and repairs every copy of every object (placement only); zero: never.</summary>
    public TimeSpan RepairInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How often the maintenance service runs the buckets' lifecycle rules (S3 runs them daily); zero: never.</summary>
    public TimeSpan LifecycleInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a background job's lease lasts without renewal (renewed every third of it): when the instance
    /// running a job dies, another takes the job over within this duration plus <see cref="MaintenanceInterval"/>.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The Google Workspace client-side encryption key service face (off unless Url is set).</summary>
    public Cse.CseOptions Cse { get; set; } = new();

    /// <summary>The Google Cloud External Key Manager face (off unless PathPrefix is set).</summary>
    public Ekm.EkmOptions Ekm { get; set; } = new();

    /// <summary>The Microsoft Double Key Encryption key service face (off unless Url is set).</summary>
    public Dke.DkeOptions Dke { get; set; } = new();

    /// <summary>The S3 face's settings (Coffre:S3:BlockPublicAccess).</summary>
    public Coffre.Server.S3.S3Options S3 { get; set; } = new();
}

/// <summary>Where ciphertext goes: "local" (a directory, the default) or "s3" (any S3-compatible service).</summary>
public sealed class BackendOptions
{
    public string Type { get; set; } = "local";

    /// <summary>For "local": the directory; default DATA/objects.</summary>
    public string? Path { get; set; }

    /// <summary>For "s3".</summary>
    public Storage.S3BlobStoreOptions? S3 { get; set; }

    /// <summary>A region of the provider catalog (e.g. "ovhcloud/gra") whose facts describe this backend.</summary>
    public string? Provider { get; set; }

    /// <summary>Facts stated by the organisation, replacing the catalog's.</summary>
    public Storage.Placement.FactsOptions? Facts { get; set; }
}

/// <summary>One entry of Coffre:Buckets.</summary>
public sealed class BucketOptions
{
    /// <summary>The bucket's key (name, alias or id), as Coffre:BucketKeys gives it.</summary>
    public string? Key { get; set; }

    /// <summary>Where its blobs live; null: Coffre:DefaultPlacement.</summary>
    public Storage.Placement.PlacementPolicy? Placement { get; set; }
}
