using Coffre.Kms;
using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;

namespace Coffre.Server.Hosting;

/// <summary>What a root migration did: counts of what it rewrapped now and of what an earlier, interrupted run already had.</summary>
public sealed record RootMigrationResult(RootKind From, RootKind To, bool Resumed, int KeyVersions, int KeyVersionsAlready,
    int AccessKeys, int AccessKeysAlready, bool SigningKey);

/// <summary>
/// Moves a deployment to another root of trust without touching object data (docs/operations.md, "Moving to another
/// root"): a new root key is created (its seal written as root.seal.next), every root-wrapped secret in the key
/// database is rewrapped under it through a <see cref="MigratingRoot"/> (which opens either root, so a kill at any
/// point loses nothing and a rerun resumes), then root.seal is switched atomically. Runs offline: it holds the data
/// directory's lock exclusively (<see cref="DataDirectoryLock"/>), so no server or command uses the deployment meanwhile.
/// </summary>
public sealed class RootMigration : IDisposable
{
    public const string StartOperation = "RootMigrationStart";
    public const string ResumeOperation = "RootMigrationResume";
    public const string CommitOperation = "RootMigrationCommit";
    public const string SigningKeyOperation = "RootMigrationRewrapSigningKey";

    private readonly DataDirectoryLock _lock;
    private readonly KmsOptions _options;
    private readonly TimeProvider _time;
    private bool _lockOwnedByDeployment;

    private RootMigration(DeploymentLocation location, DataDirectoryLock directoryLock, RootSealFile current, RootSealFile? pending,
        KmsOptions options, TimeProvider time)
    {
        Location = location;
        _lock = directoryLock;
        Current = current;
        Pending = pending;
        _options = options;
        _time = time;
    }

    public DeploymentLocation Location { get; }

    /// <summary>The seal in force (root.seal).</summary>
    public RootSealFile Current { get; }

    /// <summary>The new root's seal of an interrupted migration (root.seal.next), or null when none is pending.</summary>
    public RootSealFile? Pending { get; }

    public string SealPath => Path.Combine(Location.DataDirectory, Deployment.SealFileName);
    public string NextSealPath => RootSealSwitch.NextPath(Location.DataDirectory);

    /// <summary>The deployment opened with both roots (after <see cref="OpenAsync"/>).</summary>
    public Deployment? Deployment { get; private set; }

    /// <summary>Takes the data directory exclusively and reads where the migration stands. A root.seal.previous left by a
    /// migration killed after its switch is deleted here (root.seal is already the new root).</summary>
    public static RootMigration Prepare(DeploymentLocation location, KmsOptions? options = null, TimeProvider? time = null)
    {
        options ??= KmsOptions.Default;
        var directoryLock = DataDirectoryLock.ForRootMigration(location.DataDirectory);
        try
        {
            var dir = location.DataDirectory;
            if (!File.Exists(RootSealSwitch.NextPath(dir)) && File.Exists(RootSealSwitch.PreviousPath(dir))) RootSealSwitch.Finish(dir);
            var current = RootSealFile.Read(Path.Combine(dir, Deployment.SealFileName), options.Seal);
            var pending = File.Exists(RootSealSwitch.NextPath(dir)) ? RootSealFile.Read(RootSealSwitch.NextPath(dir), options.Seal) : null;
            if (pending is not null && pending.DeploymentId != current.DeploymentId)
                throw new KmsException(KmsError.InvalidArgument,
                    $"{RootSealSwitch.NextPath(dir)} belongs to deployment {pending.DeploymentId}, not {current.DeploymentId}; it is not this deployment's migration: move it away.");
            return new RootMigration(location, directoryLock, current, pending, options, time ?? TimeProvider.System);
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the deployment with both roots and records the start (or the resumption). <paramref name="current"/> is the
    /// root opened from root.seal; <paramref name="openOrCreateNext"/> gets root.seal.next's path and the deployment id and
    /// returns the new root: created there (first run; the file must be written only once the new root's secrets were handed
    /// out) or opened from it (<see cref="Pending"/> not null). Takes ownership of <paramref name="current"/>.
    /// </summary>
    public async Task<Deployment> OpenAsync(IRootOfTrust current, Func<string, string, IRootOfTrust> openOrCreateNext, string principal, RootKind to)
    {
        IRootOfTrust next;
        try
        {
            if (Pending is { } pending && pending.Kind != to)
                throw new KmsException(KmsError.Conflict,
                    $"A migration to a {Describe(pending.Kind)} root is pending ({RootSealSwitch.NextFileName}); finish it with --to {Describe(pending.Kind)}.");
            next = openOrCreateNext(NextSealPath, Current.DeploymentId);
        }
        catch
        {
            current.Dispose();
            throw;
        }
        _lockOwnedByDeployment = true;
        Deployment = Deployment.OpenMigrating(Location, new MigratingRoot(current, next), _lock, _options, _time);
        await Deployment.Keys.RecordRootEventAsync(Pending is null ? StartOperation : ResumeOperation, principal,
            ("from", Describe(Current.Kind)), ("to", Describe(to))).ConfigureAwait(false);
        return Deployment;
    }

    /// <summary>Rewraps every key version, access-key secret and the checkpoint signing key under the new root, skipping what
    /// an earlier run did. <paramref name="progress"/> hears what is being done.</summary>
    public async Task<RootMigrationResult> RewrapAsync(string principal, RootKind to, IProgress<string>? progress = null)
    {
        var deployment = Deployment ?? throw new InvalidOperationException("OpenAsync first.");
        var keys = deployment.Keys;
        var (versions, versionsAlready) = keys.RewrapKeyVersionsUnderNewRoot(principal,
            new Progress<int>(n => progress?.Report($"key versions: {n} handled")));
        progress?.Report($"key versions: {versions} rewrapped, {versionsAlready} already under the new root");
        var (accessKeys, accessKeysAlready) = new AccessKeyManager(keys, deployment.AccessKeys, _time).RewrapSecretsUnderNewRoot(principal);
        progress?.Report($"access keys: {accessKeys} rewrapped, {accessKeysAlready} already under the new root");
        var checkpointer = new AuditCheckpointer(keys, deployment.Audit, _time);
        var signing = false;
        if (checkpointer.SigningKeyNeedsRewrap())
        {
            // Recorded first: the change itself is a single-row update outside the audit transaction.
            await keys.RecordRootEventAsync(SigningKeyOperation, principal, ("fingerprint", checkpointer.PublicKeyFingerprint())).ConfigureAwait(false);
            signing = checkpointer.RewrapSigningKeyUnderNewRoot();
        }
        progress?.Report(signing ? "checkpoint signing key: rewrapped" : "checkpoint signing key: nothing to do");
        return new RootMigrationResult(Current.Kind, to, Pending is not null, versions, versionsAlready, accessKeys, accessKeysAlready, signing);
    }

    /// <summary>
    /// Records the commit, then switches root.seal to the new seal (the old one kept as root.seal.previous until the switch
    /// is done) and closes the deployment. From here only the new root opens the deployment.
    /// </summary>
    public async Task CommitAsync(string principal, RootMigrationResult result)
    {
        var deployment = Deployment ?? throw new InvalidOperationException("OpenAsync first.");
        await deployment.Keys.RecordRootEventAsync(CommitOperation, principal, ("from", Describe(result.From)), ("to", Describe(result.To)),
            ("key_versions", result.KeyVersions + result.KeyVersionsAlready), ("access_keys", result.AccessKeys + result.AccessKeysAlready)).ConfigureAwait(false);
        await deployment.Keys.DisposeAsync().ConfigureAwait(false);
        RootSealSwitch.Switch(Location.DataDirectory);
        RootSealSwitch.Finish(Location.DataDirectory);
    }

    /// <summary>The word the CLI and the audit trail use for a root kind.</summary>
    public static string Describe(RootKind kind) => kind switch
    {
        RootKind.Passphrase => "passphrase",
        RootKind.Shamir => "shamir",
        _ => "hsm",
    };

    public void Dispose()
    {
        if (Deployment is { } deployment) deployment.Dispose();
        else if (!_lockOwnedByDeployment) _lock.Dispose();
    }
}

public sealed partial class Deployment
{
    /// <summary>Opens the deployment for a root migration, under the migration's exclusive lock (owned by the deployment from here).</summary>
    internal static Deployment OpenMigrating(DeploymentLocation location, MigratingRoot root, DataDirectoryLock directoryLock, KmsOptions options, TimeProvider time) =>
        Open(location, root, directoryLock, options, time);
}
