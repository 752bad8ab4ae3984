using System.Globalization;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Objects.Catalog;
using Coffre.Objects.Placement;
using Coffre.Server.Audit;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.Storage.Placement;

namespace Coffre.Server.Reports;

/// <summary>Gathers the facts of <see cref="SovereigntyReport"/> from a deployment opened with its keys, its configuration and its backends.</summary>
public sealed class SovereigntyReportBuilder(Deployment deployment, CoffreServerOptions options, string principal)
{
    public async Task<SovereigntyReport> BuildAsync(string? onlyBucket, AuditStatus audit, CancellationToken ct)
    {
        var providers = BackendsConfiguration.LoadCatalog(options);
        var facts = BackendsConfiguration.Facts(options, providers);
        var placement = BackendsConfiguration.Placement(options, providers);
        var states = Deployment.OpenPlacementStatesIfAny(deployment.Location);
        if (states is not null) placement.Apply(await states.ListAsync(ct).ConfigureAwait(false));
        var catalog = deployment.HasCatalog ? deployment.OpenCatalog() : null;
        var recorded = catalog is null ? null : Deployment.OpenBlobCopies(deployment.Location);
        var known = catalog is null ? [] : await catalog.ListBucketsAsync(ct).ConfigureAwait(false);
        var names = known.Select(b => b.Name).Union(options.Buckets.Keys).Order(StringComparer.Ordinal).ToList();
        if (onlyBucket is not null)
        {
            if (!names.Contains(onlyBucket)) throw new KmsException(KmsError.NotFound, $"No bucket named '{onlyBucket}' in the catalog or the configuration.");
            names = [onlyBucket];
        }
        var custody = Custody();
        var stores = BackendsConfiguration.Named(options).ToDictionary(b => b.Key, b => BackendsConfiguration.CreateStore(b.Key, b.Value, deployment.DataDirectory));
        try
        {
            var buckets = new List<BucketSovereignty>();
            foreach (var name in names)
            {
                var decision = placement.Decide(name);
                var copies = decision.Copies.Select(c => new CopyLocation(c, BackendsConfiguration.Named(options)[c].Type.ToLowerInvariant(), facts[c])).ToList();
                var keyRef = known.FirstOrDefault(b => b.Name == name)?.KeyId ?? BackendsConfiguration.BucketKeys(options).GetValueOrDefault(name) ?? options.DefaultKey;
                var key = await KeyOfAsync(keyRef).ConfigureAwait(false);
                var state = placement.StateOf(name);
                var health = catalog is null || recorded is null ? new CopyHealth(0, 0, 0, 0, null, [])
                    : await HealthAsync(catalog, recorded, name, decision.Copies, stores, state?.Migration, ct).ConfigureAwait(false);
                buckets.Add(new BucketSovereignty(name, state?.Backends is not null ? "coffre migrate" : options.Buckets.GetValueOrDefault(name)?.Placement is not null
                        ? $"configuration (Coffre:Buckets:{name}:Placement)" : "configuration (Coffre:DefaultPlacement)",
                    placement.PolicyOf(name), copies, key, health,
                    ThreatModelAnswers.Plaintext(custody, key, copies, audit),
                    ThreatModelAnswers.Denial(custody, copies, placement.PolicyOf(name), health)));
            }
            return new SovereigntyReport(DateTimeOffset.UtcNow, deployment.Keys.DeploymentId, custody, Summary(audit), buckets);
        }
        finally
        {
            foreach (var store in stores.Values) (store as IDisposable)?.Dispose();
            if (catalog is IAsyncDisposable d) await d.DisposeAsync().ConfigureAwait(false);
            if (recorded is IAsyncDisposable r) await r.DisposeAsync().ConfigureAwait(false);
        }
    }

    private KeyCustody Custody()
    {
        var seal = RootSealFile.Read(Path.Combine(deployment.DataDirectory, Deployment.SealFileName), deployment.Keys.SealOptions);
        var detail = seal.Kind switch
        {
            RootKind.Passphrase => $"root key sealed under a passphrase ({seal.Kdf}); whoever knows it and holds the data directory can open the keys",
            RootKind.Shamir => $"root key sealed under a key split into Shamir shares: any {seal.Threshold} of {seal.ShareDigests.Count} share holders together open the keys",
            RootKind.Pkcs11 => $"root key generated inside a PKCS#11 HSM (token '{seal.TokenLabel}', key '{seal.KeyLabel}'), non-extractable; the token PIN and the HSM are needed",
            _ => seal.Kind.ToString(),
        };
        return new KeyCustody(seal.Kind switch { RootKind.Pkcs11 => "HSM", var k => k.ToString() }, detail,
            deployment.Location.Database is null ? "SQLite (keys.db) in the data directory" : "PostgreSQL",
            "key-encryption keys are stored wrapped by the root key, on the organisation's own Coffre host; no provider holds a key");
    }

    private async Task<BucketKey> KeyOfAsync(string? keyRef)
    {
        if (keyRef is null) return new BucketKey(null, null, null, null, null, null, "no key", "no key is configured for this bucket (Coffre:DefaultKey)");
        try
        {
            var k = await deployment.Keys.DescribeKeyAsync(keyRef, principal).ConfigureAwait(false);
            var overdue = k.State == KeyState.Enabled && k.NextRotation is { } n && n < DateTimeOffset.UtcNow;
            return new BucketKey(k.Name, k.Id, k.State.ToString(), k.PrimaryVersion,
                k.RotationPeriod is { } p ? ((long)p.TotalDays).ToString(CultureInfo.InvariantCulture) + " days" : null, k.NextRotation,
                overdue ? "overdue" : k.RotationPeriod is null ? "no rotation policy" : "compliant",
                k.State != KeyState.Enabled ? $"the key is {k.State}: objects cannot be written, and cannot be read unless it is enabled again" : null);
        }
        catch (KmsException e) when (e.Error == KmsError.NotFound)
        {
            return new BucketKey(keyRef, null, null, null, null, null, "missing", $"key '{keyRef}' does not exist in this deployment");
        }
    }

    /// <summary>Each object's blobs asked for (HEAD) on every backend the placement requires: what is missing, what could
    /// not be asked; and where the catalog records their copies (<see cref="IBlobCopyStore"/>), on any backend.</summary>
    private static async Task<CopyHealth> HealthAsync(IObjectCatalog catalog, IBlobCopyStore recorded, string bucket, IReadOnlyList<string> copies,
        IReadOnlyDictionary<string, IBlobStore> stores, PlacementMigration? migration, CancellationToken ct)
    {
        long objects = 0, blobs = 0, missing = 0, unreachable = 0;
        var perBackend = copies.ToDictionary(c => c, _ => 0L, StringComparer.Ordinal);
        for (string? after = null; ;)
        {
            var page = await catalog.ListObjectsAsync(bucket, "", null, after, 500, ct).ConfigureAwait(false);
            var pageBlobs = page.Entries.Select(e => e.Record).OfType<ObjectRecord>().SelectMany(ObjectBlobs.Of).Where(i => !i.OptionalAnnex).Select(i => i.Key).ToList();
            foreach (var copy in await recorded.OfAsync(pageBlobs, ct).ConfigureAwait(false))
                perBackend[copy.Backend] = perBackend.GetValueOrDefault(copy.Backend) + 1;
            foreach (var record in page.Entries.Select(e => e.Record).OfType<ObjectRecord>())
            {
                objects++;
                foreach (var item in ObjectBlobs.Of(record).Where(i => !i.OptionalAnnex))
                {
                    blobs++;
                    foreach (var copy in copies)
                    {
                        try
                        {
                            if (await stores[copy].HeadAsync(item.Key, ct).ConfigureAwait(false) is not { } info || info.Length != item.ExpectedLength) missing++;
                        }
                        catch (BlobStoreException)
                        {
                            unreachable++;
                        }
                    }
                }
                after = record.Name;
            }
            if (!page.IsTruncated) break;
        }
        return new CopyHealth(objects, blobs, missing, unreachable, migration is null ? null
            : $"migration from {migration.From} to {migration.To} under way ({migration.Phase.ToString().ToLowerInvariant()}, {migration.Objects} object(s) copied since {migration.Started:yyyy-MM-dd HH:mm} UTC)",
            perBackend.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new RecordedCopies(p.Key, p.Value, copies.Contains(p.Key))).ToList());
    }

    private static AuditSummary Summary(AuditStatus audit) => new(audit.Ok, audit.Chain.RecordsChecked, audit.Checkpoints.RecordsChecked,
        audit.Failed is { } f ? $"broken at record #{f.FirstBadSequence}: {f.Reason}" : null,
        audit.Published.Sinks.Select(s => new PublishedCheckpointSummary(s.Sink, s.Newest?.Checkpoint.Number, s.Newest?.Checkpoint.Sequence,
            s.Newest?.Checkpoint.TimeText, s.Error)).ToList(),
        audit.Published.Findings.Select(f => $"{f.Code}: {f.Message}").ToList());
}
