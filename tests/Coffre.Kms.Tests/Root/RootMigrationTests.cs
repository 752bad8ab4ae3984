using Coffre.Kms.Access;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Root;
using Coffre.Server.Hosting;
using Coffre.TestSupport;

namespace Coffre.Kms.Tests.Root;

/// <summary>
/// `coffre root migrate` in process: every direction between passphrase, Shamir and HSM (a real SoftHSM2 token) keeps
/// every KMS ciphertext, data key, access key and the checkpoint signing key usable under the new root only, and a
/// migration stopped at any point resumes.
/// </summary>
[Collection("softhsm")]
public sealed class RootMigrationTests : IDisposable
{
    private const string NewPassphrase = "a new passphrase for the new root";
    private readonly SoftHsmToken _hsm = new SoftHsmToken().UseInThisProcess();
    private readonly TestEnvironment _env = new();
    private IReadOnlyList<string> _shares = [];

    public void Dispose()
    {
        _env.Dispose();
        _hsm.Dispose();
    }

    /// <summary>What was made under the first root and must be usable after.</summary>
    private sealed record Made(byte[] Blob, WrappedDataKey Wrapped, byte[] DataKey, string AccessKeyId, string Secret, string Fingerprint);

    [Theory]
    [InlineData(RootKind.Passphrase, RootKind.Shamir)]
    [InlineData(RootKind.Passphrase, RootKind.Pkcs11)]
    [InlineData(RootKind.Shamir, RootKind.Passphrase)]
    [InlineData(RootKind.Shamir, RootKind.Pkcs11)]
    [InlineData(RootKind.Pkcs11, RootKind.Passphrase)]
    [InlineData(RootKind.Pkcs11, RootKind.Shamir)]
    public async Task Every_secret_moves_to_the_new_root_and_the_old_root_opens_nothing(RootKind from, RootKind to)
    {
        var made = await InitializeAndUse(from, "root-a");
        var oldSeal = File.ReadAllBytes(_env.SealPath);

        var result = await MigrateAsync(from, to, "root-b");
        Assert.Equal((from, to, false), (result.From, result.To, result.Resumed));
        Assert.Equal(3, result.KeyVersions); // k v1, v2 and j v1
        Assert.Equal(1, result.AccessKeys);
        Assert.True(result.SigningKey);
        Assert.Equal(to, RootSealFile.Read(_env.SealPath, _env.Options.Seal).Kind);
        Assert.False(File.Exists(RootSealSwitch.NextPath(_env.Directory)));
        Assert.False(File.Exists(RootSealSwitch.PreviousPath(_env.Directory)));

        await CheckUsableAsync(OpenRoot(to, _env.SealPath), made);

        // The old root (its seal file kept aside by an attacker or a stale backup) opens the old root key, which wraps nothing any more.
        var stale = Path.Combine(_env.Directory, "stale.seal");
        File.WriteAllBytes(stale, oldSeal);
        using var oldRoot = OpenRoot(from, stale, oldShares: true);
        var versions = _env.Deployment.Database.Keys.ListVersions(_env.Deployment.Database.Keys.FindKeyByName("k")!.Id);
        foreach (var v in versions)
        {
            var e = Assert.Throws<KmsException>(() => oldRoot.Unwrap(v.WrappedMaterial!, _env.Deployment.Keys.KekAad(v.KeyId, v.Version), new byte[32]));
            Assert.Equal(KmsError.InvalidCiphertext, e.Error);
        }
    }

    [Fact]
    public async Task A_migration_stopped_midway_keeps_everything_readable_refuses_other_openers_and_resumes()
    {
        var made = await InitializeAndUse(RootKind.Passphrase, "unused");
        // Stopped after the first key's versions were rewrapped (as a kill would stop it): a fault the test injects.
        using (var migration = RootMigration.Prepare(_env.Location, _env.Options, _env.Clock))
        {
            await migration.OpenAsync(OpenRoot(RootKind.Passphrase, _env.SealPath), (next, id) => CreateRoot(RootKind.Pkcs11, next, id, "root-b"),
                TestEnvironment.Alice, RootKind.Pkcs11);
            Assert.Throws<InvalidOperationException>(() => migration.Deployment!.Keys.RewrapKeyVersionsUnderNewRoot(TestEnvironment.Alice,
                new SynchronousProgress(n => throw new InvalidOperationException("killed"))));
        }
        Assert.True(File.Exists(RootSealSwitch.NextPath(_env.Directory)));
        Assert.Equal(RootKind.Passphrase, RootSealFile.Read(_env.SealPath, _env.Options.Seal).Kind);
        var refused = Assert.Throws<KmsException>(() => Deployment.Open(_env.Location, OpenRoot(RootKind.Passphrase, _env.SealPath), _env.Options, _env.Clock));
        Assert.Equal(KmsError.Conflict, refused.Error);
        Assert.Contains("coffre root migrate", refused.Message, StringComparison.Ordinal);

        // Another target is refused while this one is pending; the same target resumes with the new root's PIN.
        using (var other = RootMigration.Prepare(_env.Location, _env.Options, _env.Clock))
        {
            Assert.NotNull(other.Pending);
            var e = await Assert.ThrowsAsync<KmsException>(() => other.OpenAsync(OpenRoot(RootKind.Passphrase, _env.SealPath),
                (next, id) => CreateRoot(RootKind.Shamir, next, id, ""), TestEnvironment.Alice, RootKind.Shamir));
            Assert.Equal(KmsError.Conflict, e.Error);
        }
        var result = await MigrateAsync(RootKind.Passphrase, RootKind.Pkcs11, "root-b");
        Assert.True(result.Resumed);
        Assert.Equal(3, result.KeyVersionsAlready + result.KeyVersions);
        Assert.InRange(result.KeyVersionsAlready, 1, 2); // the first key's versions were done before the stop
        await CheckUsableAsync(OpenRoot(RootKind.Pkcs11, _env.SealPath), made);

        var operations = _env.Deployment.Audit.ReadChain().Select(r => r.Operation).ToList();
        Assert.Equal(1, operations.Count(o => o == RootMigration.StartOperation));
        Assert.Equal(1, operations.Count(o => o == RootMigration.ResumeOperation));
        Assert.Equal(1, operations.Count(o => o == RootMigration.CommitOperation));
    }

    [Fact]
    public async Task A_migration_is_refused_while_the_deployment_is_open()
    {
        await InitializeAndUse(RootKind.Passphrase, "unused");
        using var open = Deployment.Open(_env.Location, OpenRoot(RootKind.Passphrase, _env.SealPath), _env.Options, _env.Clock);
        var e = Assert.Throws<KmsException>(() => RootMigration.Prepare(_env.Location, _env.Options, _env.Clock));
        Assert.Equal(KmsError.Conflict, e.Error);
        Assert.Contains("in use", e.Message, StringComparison.Ordinal);
    }

    private async Task<Made> InitializeAndUse(RootKind kind, string keyLabel)
    {
        using var deployment = kind switch
        {
            RootKind.Passphrase => await Deployment.InitializeAsync(_env.Location, TestEnvironment.Passphrase, _env.Options, _env.Clock),
            RootKind.Shamir => await InitShamir(),
            _ => await Deployment.InitializeHsmAsync(_env.Location, SoftHsmToken.Module, _hsm.Label, keyLabel, SoftHsmToken.Pin, _env.Options, _env.Clock),
        };
        var keys = deployment.Keys;
        keys.CreateKey("k", null, TestEnvironment.Alice);
        keys.RotateKey("k", TestEnvironment.Alice);
        keys.CreateKey("j", null, TestEnvironment.Alice);
        var blob = keys.Encrypt("k", "made under the first root"u8, null, TestEnvironment.Alice);
        using var dk = keys.GenerateDataKey("j", null, TestEnvironment.Alice);
        var access = new AccessKeyManager(keys, deployment.AccessKeys, _env.Clock).Create(AccessGrants.All, "officer", TestEnvironment.Alice);
        var checkpointer = new AuditCheckpointer(keys, deployment.Audit, _env.Clock);
        Assert.NotNull(checkpointer.Write());
        return new Made(blob, dk.Wrapped, dk.Plaintext.ToArray(), access.Key.AccessKeyId, access.SecretAccessKey, checkpointer.PublicKeyFingerprint()!);

        async Task<Deployment> InitShamir()
        {
            var (d, shares) = await Deployment.InitializeShamirAsync(_env.Location, 3, 2, _env.Options, _env.Clock);
            _shares = shares;
            return d;
        }
    }

    private async Task<RootMigrationResult> MigrateAsync(RootKind from, RootKind to, string keyLabel)
    {
        using var migration = RootMigration.Prepare(_env.Location, _env.Options, _env.Clock);
        await migration.OpenAsync(OpenRoot(from, _env.SealPath), (next, id) => migration.Pending is null
            ? CreateRoot(to, next, id, keyLabel)
            : OpenRoot(to, next), TestEnvironment.Alice, to);
        var result = await migration.RewrapAsync(TestEnvironment.Alice, to);
        await migration.CommitAsync(TestEnvironment.Alice, result);
        return result;
    }

    private IRootOfTrust CreateRoot(RootKind kind, string path, string deploymentId, string keyLabel)
    {
        switch (kind)
        {
            case RootKind.Passphrase:
                return SealedFileRoot.Initialize(path, NewPassphrase, _env.Options.Seal, _env.Clock, deploymentId);
            case RootKind.Shamir:
                var (root, shares) = SealedFileRoot.InitializeShamir(path, 3, 2, _env.Clock, deploymentId);
                _oldShares = _shares;
                _shares = shares;
                return root;
            default:
                return Pkcs11Root.Initialize(path, SoftHsmToken.Module, _hsm.Label, keyLabel, SoftHsmToken.Pin, _env.Clock, deploymentId);
        }
    }

    private IReadOnlyList<string> _oldShares = [];

    /// <summary>Opens the root a seal describes the way an officer would; the passphrase is the first root's unless the seal
    /// is a migration's new one. <paramref name="oldShares"/>: the shares issued before the migration.</summary>
    private IRootOfTrust OpenRoot(RootKind kind, string sealPath, bool oldShares = false)
    {
        if (kind == RootKind.Passphrase)
        {
            try
            {
                return SealedFileRoot.Unseal(sealPath, TestEnvironment.Passphrase, _env.Options.Seal);
            }
            catch (KmsException e) when (e.Error == KmsError.WrongPassphrase)
            {
                return SealedFileRoot.Unseal(sealPath, NewPassphrase, _env.Options.Seal);
            }
        }
        using var unsealer = new RootUnsealer(sealPath, _env.Options.Seal, _env.Clock);
        if (kind == RootKind.Pkcs11) return unsealer.Submit(SoftHsmToken.Pin, out _)!;
        var shares = oldShares && _oldShares.Count > 0 ? _oldShares : _shares;
        Assert.Null(unsealer.Submit(shares[2], out _));
        return unsealer.Submit(shares[0], out _)!;
    }

    private async Task CheckUsableAsync(IRootOfTrust root, Made made)
    {
        var keys = _env.Open(root);
        Assert.Equal("made under the first root"u8.ToArray(), keys.Decrypt(made.Blob, null, TestEnvironment.Alice).Plaintext);
        Assert.Equal(made.DataKey, keys.UnwrapDataKey(made.Wrapped, null, TestEnvironment.Alice));
        var active = Assert.Single(new AccessKeyManager(keys, _env.Deployment.AccessKeys, _env.Clock).LoadActive());
        Assert.Equal((made.AccessKeyId, made.Secret), (active.AccessKeyId, active.SecretAccessKey));
        var checkpointer = new AuditCheckpointer(keys, _env.Deployment.Audit, _env.Clock);
        Assert.NotNull(checkpointer.Write());
        Assert.Equal(made.Fingerprint, checkpointer.PublicKeyFingerprint());
        Assert.True(checkpointer.Verify().Ok, checkpointer.Verify().ToString());
        await keys.DisposeAsync();
        var chain = AuditChain.Verify(_env.Deployment.Audit.ReadChain());
        Assert.True(chain.Ok, chain.ToString());
        var operations = _env.Deployment.Audit.ReadChain().Select(r => r.Operation).ToList();
        foreach (var op in new[] { RootMigration.CommitOperation, KeyManager.RootMigrationRewrapOperation, AccessKeyManager.RewrapOperation,
            RootMigration.SigningKeyOperation })
            Assert.Contains(op, operations);
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; this one reports on the caller's thread, so a throw stops the work.</summary>
    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
