using System.Net;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;
using Coffre.Objects;
using Coffre.Postgres;
using Coffre.Server.Auth;

namespace Coffre.Server.Hosting;

/// <summary>
/// Every problem of a "Coffre" configuration section, found before anything touches the disk or the network, so an
/// operator fixes them all in one go instead of discovering them one start (and one half-created data directory) at
/// a time.
/// </summary>
public static class ConfigurationCheck
{
    /// <summary>One message per problem, each naming the setting as it is written in appsettings.json; empty when valid.</summary>
    public static IReadOnlyList<string> Validate(CoffreServerOptions options)
    {
        var errors = new List<string>();
        void Add(string setting, string problem) => errors.Add($"{CoffreConfiguration.Section}:{setting}: {problem}");

        try
        {
            var (address, _) = CoffreServer.ParseListen(options.Listen);
            if (!IPAddress.IsLoopback(address) && options.CertificatePath is null && !options.AllowInsecureHttp)
                Add("Listen", $"'{options.Listen}' is not a loopback address: refusing to serve plain HTTP there; set CertificatePath " +
                    "(HTTPS), or AllowInsecureHttp=true if a TLS proxy stands in front.");
        }
        catch (InvalidOperationException e)
        {
            Add("Listen", e.Message);
        }
        if (options.CertificatePath is { } cert && !File.Exists(cert))
            Add("CertificatePath", $"there is no file '{cert}'.");
        if (string.IsNullOrWhiteSpace(options.Region) || !options.Region.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            Add("Region", $"'{options.Region}' is not a region name (letters, digits and '-', e.g. eu-west-3).");
        for (var i = 0; i < options.HostNames.Count; i++)
            if (HostNames.Problem(options.HostNames[i]) is { } problem) Add($"HostNames:{i}", problem);
        for (var i = 0; i < options.Domains.Count; i++)
            if (S3Domains.Problem(options.Domains[i]) is { } problem) Add($"Domains:{i}", problem);
        if (options.KmsAccountId is not { Length: 12 } || !options.KmsAccountId.All(char.IsAsciiDigit))
            Add("KmsAccountId", $"'{options.KmsAccountId}' is not a 12-digit account id.");
        if (options.AuditSynchronous.ToUpperInvariant() is not ("FULL" or "NORMAL"))
            Add("AuditSynchronous", $"'{options.AuditSynchronous}' is not FULL or NORMAL.");
        if (options.Database is { } database)
            foreach (var problem in PostgresSettings.Problems(database, options.DatabasePasswordFile)) Add("Database", problem);
        else if (options.DatabasePasswordFile is not null)
            Add("DatabasePasswordFile", "is set but Database is not: set Database too, or remove it.");
        if (!KeyNames.IsValidName(options.DefaultKey))
            Add("DefaultKey", $"'{options.DefaultKey}' is not a valid key name.");
        foreach (var (bucket, key) in options.BucketKeys)
        {
            try
            {
                ObjectNames.ValidateBucket(bucket);
            }
            catch (ObjectStoreException e)
            {
                Add($"BucketKeys:{bucket}", e.Message);
            }
            if (string.IsNullOrWhiteSpace(key)) Add($"BucketKeys:{bucket}", "names no key.");
        }
        errors.AddRange(AccessKeyDirectory.Problems(options.AccessKeys));
        errors.AddRange(BackendsConfiguration.Problems(options));
        errors.AddRange(Xks.XksOptionsCheck.Problems(options.Xks, options));
        if (options.RewrapObjectsPerSecond is <= 0 or double.NaN)
            Add("RewrapObjectsPerSecond", $"{options.RewrapObjectsPerSecond} is not a positive rate (leave it empty for no limit).");
        if (options.MaxUploadSize is <= 0 or > ObjectStoreOptions.MaxS3StreamSize)
            Add("MaxUploadSize", $"{options.MaxUploadSize} is outside 1..{ObjectStoreOptions.MaxS3StreamSize} bytes (S3's 5 GiB).");
        if (options.AccessKeyRefreshInterval <= TimeSpan.Zero || options.AccessKeyRefreshInterval > TimeSpan.FromMinutes(5))
            Add("AccessKeyRefreshInterval", $"{options.AccessKeyRefreshInterval} is not between 0 and 5 minutes.");
        if (options.RepairInterval < TimeSpan.Zero)
            Add("RepairInterval", $"{options.RepairInterval} is negative: give a duration, or 00:00:00 to turn background repair off.");
        if (options.LifecycleInterval < TimeSpan.Zero)
            Add("LifecycleInterval", $"{options.LifecycleInterval} is negative: give a duration, or 00:00:00 to stop running lifecycle rules.");
        if (options.MaintenanceInterval <= TimeSpan.Zero)
            Add("MaintenanceInterval", $"{options.MaintenanceInterval} is not a positive duration.");
        if (options.LeaseDuration < TimeSpan.FromSeconds(1))
            Add("LeaseDuration", $"{options.LeaseDuration} is shorter than one second (it is renewed every third of it).");
        // The faces' own checks say "Setting: problem", the setting relative to their section.
        foreach (var problem in options.Cse.Problems()) errors.Add($"{CoffreConfiguration.Section}:Cse:{problem}");
        foreach (var problem in options.Ekm.Problems()) errors.Add($"{CoffreConfiguration.Section}:Ekm:{problem}");
        foreach (var problem in options.Dke.Problems()) errors.Add($"{CoffreConfiguration.Section}:Dke:{problem}");
        return errors;
    }

    /// <summary>
    /// Every configured key that exists but cannot serve the face naming it: objects (DefaultKey, BucketKeys), XKS, CSE
    /// and EKM use AES under symmetric keys; DKE decrypts RSA-OAEP under an RSA ENCRYPT_DECRYPT key. Needs the key store,
    /// so it runs once that is open (sealed or not: specs are metadata). A key named but not created yet is left to the
    /// faces, which refuse its use with their own error if it is created with the wrong spec.
    /// </summary>
    public static IReadOnlyList<string> KeyProblems(CoffreServerOptions options, KeyManager keys)
    {
        var errors = new List<string>();
        void Symmetric(string setting, string keyRef, string purpose)
        {
            if (keys.TryKeySpec(keyRef) is { Spec: var spec } && spec.IsRsa())
                errors.Add($"{CoffreConfiguration.Section}:{setting}: '{keyRef}' is an {StoredNames.Text(spec)} key, but {purpose} need a symmetric " +
                    $"{StoredNames.Text(KeySpec.SymmetricDefault)} key: name another key.");
        }
        Symmetric("DefaultKey", options.DefaultKey, "objects");
        foreach (var (bucket, key) in options.BucketKeys) Symmetric($"BucketKeys:{bucket}", key, "objects");
        for (var i = 0; i < options.Xks.Stores.Count; i++)
            foreach (var (id, key) in options.Xks.Stores[i].Keys) Symmetric($"Xks:Stores:{i}:Keys:{id}:Key", key.Key, "XKS keys");
        if (options.Cse.Enabled) Symmetric("Cse:Key", options.Cse.Key, "CSE wraps");
        if (options.Ekm.Enabled)
            foreach (var (name, key) in options.Ekm.Keys) Symmetric($"Ekm:Keys:{name}:Key", key.Key, "EKM wraps");
        if (options.Dke.Enabled)
            foreach (var (name, key) in options.Dke.Keys)
                if (keys.TryKeySpec(key.Key) is var (spec, usage) && (!spec.IsRsa() || usage != KeyUsage.EncryptDecrypt))
                    errors.Add($"{CoffreConfiguration.Section}:Dke:Keys:{name}:Key: '{key.Key}' is an {StoredNames.Text(spec)} {StoredNames.Text(usage)} key, " +
                        $"but DKE decrypts with RSA-OAEP: name an RSA key with usage {StoredNames.Text(KeyUsage.EncryptDecrypt)} " +
                        "(coffre key create --spec RSA_2048 --usage ENCRYPT_DECRYPT).");
        return errors;
    }

    /// <summary>Throws one <see cref="InvalidOperationException"/> listing every problem: of the settings, and, given the key
    /// manager, of the keys they name (<see cref="KeyProblems"/>).</summary>
    public static void ThrowIfInvalid(CoffreServerOptions options, KeyManager? keys = null)
    {
        var errors = keys is null ? Validate(options) : [.. Validate(options), .. KeyProblems(options, keys)];
        if (errors.Count == 0) return;
        throw new InvalidOperationException(
            $"{errors.Count} problem(s) in the configuration:{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", errors));
    }
}
