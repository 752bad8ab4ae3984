using System.Text.RegularExpressions;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Storage;
using Coffre.Storage.Placement;

namespace Coffre.Server.Hosting;

/// <summary>
/// The named backends of a configuration (Coffre:Backends, or the single Coffre:Backend as "default"), their facts from
/// the provider catalog, the buckets' placement policies, and the one <see cref="IBlobStore"/> the object store writes to.
/// </summary>
public static partial class BackendsConfiguration
{
    /// <summary>The name the single Coffre:Backend section takes.</summary>
    public const string DefaultName = "default";

    /// <summary>Every backend by name, in name order.</summary>
    public static IReadOnlyDictionary<string, BackendOptions> Named(CoffreServerOptions options) => options.Backends.Count > 0
        ? new SortedDictionary<string, BackendOptions>(options.Backends, StringComparer.Ordinal)
        : new SortedDictionary<string, BackendOptions>(StringComparer.Ordinal) { [DefaultName] = options.Backend };

    /// <summary>Whether placement is configured at all; without it, the single backend is used as is, as before.</summary>
    public static bool UsesPlacement(CoffreServerOptions options) =>
        options.Backends.Count > 0 || options.DefaultPlacement is not null || options.Buckets.Values.Any(b => b.Placement is not null);

    private static string Setting(CoffreServerOptions options, string name) => options.Backends.Count > 0 ? $"Backends:{name}" : "Backend";

    public static ProviderCatalog LoadCatalog(CoffreServerOptions options) => ProviderCatalog.Load(options.ProviderCatalog ?? ProviderCatalog.ShippedPath);

    /// <summary>The facts of every backend; call after <see cref="Problems"/> found none.</summary>
    public static IReadOnlyDictionary<string, BackendFacts> Facts(CoffreServerOptions options, ProviderCatalog catalog) =>
        Named(options).ToDictionary(b => b.Key, b => BackendFacts.Resolve(b.Key, b.Value.Provider, b.Value.Facts, catalog), StringComparer.Ordinal);

    public static BucketPlacement Placement(CoffreServerOptions options, ProviderCatalog catalog) =>
        new(new PlacementPlanner(Facts(options, catalog)), options.DefaultPlacement,
            options.Buckets.Where(b => b.Value.Placement is not null).ToDictionary(b => b.Key, b => b.Value.Placement!, StringComparer.Ordinal));

    /// <summary>Every problem of the backends, the catalog and the placement policies, each naming its setting.</summary>
    public static IEnumerable<string> Problems(CoffreServerOptions options)
    {
        var errors = new List<string>();
        void Add(string setting, string problem) => errors.Add($"{CoffreConfiguration.Section}:{setting}: {problem}");

        if (options.Backends.Count > 0 && (options.Backend.Type != "local" || options.Backend.Path is not null || options.Backend.S3 is not null
                || options.Backend.Provider is not null || options.Backend.Facts is not null))
            Add("Backend", "is set together with Backends; move it to Backends:default (or another name).");
        foreach (var (name, backend) in Named(options))
        {
            var setting = Setting(options, name);
            if (!NameRegex().IsMatch(name)) Add(setting, $"'{name}' is not a backend name (1-64 of a-z, A-Z, 0-9, '-', '_').");
            CheckStore(backend, setting, Add);
            if (backend.Facts is { } facts)
                foreach (var problem in facts.Validate()) Add($"{setting}:Facts:" + problem.Split(": ", 2)[0], problem.Split(": ", 2)[1]);
        }
        foreach (var same in Named(options).GroupBy(b => Location(b.Value)).Where(g => g.Key is not null && g.Count() > 1))
            Add("Backends", $"{string.Join(" and ", same.Select(b => $"'{b.Key}'"))} are the same storage ({same.Key}): copies on them would not be distinct.");
        foreach (var (bucket, settings) in options.Buckets)
        {
            try
            {
                ObjectNames.ValidateBucket(bucket);
            }
            catch (ObjectStoreException e)
            {
                Add($"Buckets:{bucket}", e.Message);
            }
            if (settings.Key is { } key && !KeyNames.IsValidName(key) && !key.StartsWith("alias/", StringComparison.Ordinal) && !Guid.TryParse(key, out _))
                Add($"Buckets:{bucket}:Key", $"'{key}' is not a key name, alias or id.");
            if (settings.Key is not null && options.BucketKeys.TryGetValue(bucket, out var other) && other != settings.Key)
                Add($"Buckets:{bucket}:Key", $"'{settings.Key}' differs from BucketKeys:{bucket} ('{other}'); keep one of them.");
        }

        // A configuration of one backend without facts (as before placement existed) needs no catalog.
        if (!UsesPlacement(options) && options.Backend.Provider is null) return errors;
        ProviderCatalog catalog;
        try
        {
            catalog = LoadCatalog(options);
        }
        catch (InvalidDataException e)
        {
            Add("ProviderCatalog", e.Message);
            return errors;
        }
        foreach (var (name, backend) in Named(options))
            if (backend.Provider is { } provider && catalog.Find(provider) is null)
                Add($"{Setting(options, name)}:Provider", $"'{provider}' is not a region of the provider catalog {catalog.Path} " +
                    "(ids are operator/region, e.g. ovhcloud/gra; `coffre backends providers` lists them).");
        if (errors.Count > 0) return errors; // facts of an unknown provider cannot be resolved
        errors.AddRange(Placement(options, catalog).Problems().Select(p => $"{CoffreConfiguration.Section}:{p}"));
        return errors;
    }

    /// <summary>The bucket → key settings of both Coffre:BucketKeys and Coffre:Buckets:{name}:Key.</summary>
    public static Dictionary<string, string> BucketKeys(CoffreServerOptions options)
    {
        var keys = new Dictionary<string, string>(options.BucketKeys, StringComparer.Ordinal);
        foreach (var (bucket, settings) in options.Buckets)
            if (settings.Key is { } key) keys[bucket] = key;
        return keys;
    }

    /// <summary>
    /// The store the object store writes to: the single backend as is when no placement is configured, else a
    /// <see cref="PlacementBlobStore"/> over every named backend.
    /// </summary>
    public static IBlobStore Create(CoffreServerOptions options, string dataDirectory)
    {
        if (!UsesPlacement(options)) return ObjectServices.CreateBackend(options.Backend, dataDirectory);
        var catalog = LoadCatalog(options);
        var stores = Named(options).Select(b => new PlacementBackend(b.Key, CreateStore(b.Key, b.Value, dataDirectory))).ToList();
        return new PlacementBlobStore(stores, Placement(options, catalog));
    }

    /// <summary>One named backend's store (for `coffre backends check`).</summary>
    public static IBlobStore CreateStore(string name, BackendOptions backend, string dataDirectory) => backend.Type.ToLowerInvariant() switch
    {
        "local" => new LocalDiskBlobStore(backend.Path ?? Path.Combine(dataDirectory, name == DefaultName ? "objects" : Path.Combine("backends", name))),
        "s3" => new S3BlobStore(WithName(backend.S3!, name)),
        var other => throw new InvalidOperationException($"Unknown backend type '{other}' for backend '{name}': use 'local' or 's3'."),
    };

    private static S3BlobStoreOptions WithName(S3BlobStoreOptions s3, string name)
    {
        if (s3.Name == "s3") s3.Name = name;
        return s3;
    }

    private static string? Location(BackendOptions backend) => backend.Type.ToLowerInvariant() switch
    {
        "local" when backend.Path is { } path => "local " + Path.GetFullPath(path),
        "s3" when backend.S3 is { } s3 => $"{s3.Endpoint?.TrimEnd('/')}/{s3.Bucket}/{s3.KeyPrefix}",
        _ => null,
    };

    private static void CheckStore(BackendOptions backend, string setting, Action<string, string> add)
    {
        switch (backend.Type.ToLowerInvariant())
        {
            case "local":
                if (backend.Path is { } path && File.Exists(path)) add($"{setting}:Path", $"'{path}' is a file, not a directory.");
                break;
            case "s3":
                if (backend.S3 is null) add($"{setting}:S3", $"{setting}:Type is s3 but this section is missing.");
                else foreach (var problem in backend.S3.Validate()) add($"{setting}:S3:" + problem.Split(':', 2)[0], problem.Split(':', 2)[1].Trim());
                break;
            default:
                add($"{setting}:Type", $"'{backend.Type}' is not a backend type: use 'local' or 's3'.");
                break;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NameRegex();
}
