using System.Security.Cryptography;
using Coffre.Kms.Audit;
using Coffre.Kms.Store;

namespace Coffre.Kms.Keys;

public sealed partial class KeyManager
{
    /// <summary>Synchronous form of <see cref="CreateKeyAsync"/> for the CLI and tests; request paths await <see cref="CreateKeyAsync"/>.</summary>
    public KeyInfo CreateKey(string name, string? description, string principal, IReadOnlyDictionary<string, string>? tags = null,
        KeySpec spec = KeySpec.SymmetricDefault, KeyUsage usage = KeyUsage.EncryptDecrypt) =>
        Wait(CreateKeyAsync(name, description, principal, tags, spec, usage));

    /// <summary>Creates a key with a first version (enabled, primary): 256 bits for AES, or an RSA key pair
    /// (KeyManager.Asymmetric.cs) for the usage given.</summary>
    public async Task<KeyInfo> CreateKeyAsync(string name, string? description, string principal, IReadOnlyDictionary<string, string>? tags = null,
        KeySpec spec = KeySpec.SymmetricDefault, KeyUsage usage = KeyUsage.EncryptDecrypt)
    {
        const string op = "CreateKey";
        var target = new Target(name);
        try
        {
            CheckPrincipal(principal);
            KeyNames.CheckName(name);
            if (description is { Length: > 1024 })
                throw new KmsException(KmsError.InvalidArgument, "A key description is at most 1024 characters.");
            CheckSpecAndUsage(spec, usage);
            var now = _time.GetUtcNow();
            var key = new KeyRecord(Guid.NewGuid().ToString("D"), name, description, now, KeyState.Enabled, null, 1, 1, null, null, null,
                new Dictionary<string, string>(tags ?? new Dictionary<string, string>()), spec, usage);
            target.Set(key);
            target.Version = 1;
            using (var tx = _store.BeginWrite())
            {
                if (tx.FindKeyByName(name) is not null)
                    throw new KmsException(KmsError.AlreadyExists, $"A key named '{name}' already exists; choose another name or use the existing key.");
                tx.InsertKey(key);
                tx.InsertVersion(NewVersion(key, 1, now));
                tx.AppendAudit(Entry(op, principal, target, spec.IsRsa()
                    ? Json(("description", description), ("spec", StoredNames.Text(spec)), ("usage", StoredNames.Text(usage)))
                    : Json(("description", description)), null, Ok));
                tx.Commit();
            }
            return Info(key.Id);
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, null, e).ConfigureAwait(false); }
    }

    /// <summary>Synchronous form of <see cref="ListKeysAsync"/> for the CLI and tests; request paths await <see cref="ListKeysAsync"/>.</summary>
    public IReadOnlyList<KeyInfo> ListKeys(string principal) => Wait(ListKeysAsync(principal));

    public async Task<IReadOnlyList<KeyInfo>> ListKeysAsync(string principal)
    {
        const string op = "ListKeys";
        try
        {
            CheckPrincipal(principal);
            var aliases = _store.ListAliases();
            var list = _store.ListKeys().Select(k => Info(k, _store.ListVersions(k.Id), aliases)).ToList();
            await _audit.AppendAsync(Entry(op, principal, null, null, null, Ok)).ConfigureAwait(false);
            return list;
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, null, null, e).ConfigureAwait(false); }
    }

    /// <summary>Synchronous form of <see cref="DescribeKeyAsync"/> for the CLI and tests; request paths await <see cref="DescribeKeyAsync"/>.</summary>
    public KeyInfo DescribeKey(string keyRef, string principal) => Wait(DescribeKeyAsync(keyRef, principal));

    /// <summary>Describes a key given its name, id or alias.</summary>
    public async Task<KeyInfo> DescribeKeyAsync(string keyRef, string principal)
    {
        const string op = "DescribeKey";
        var target = new Target(keyRef);
        try
        {
            CheckPrincipal(principal);
            var key = ResolveRecord(keyRef, _store.FindKeyById, _store.FindKeyByName, _store.FindAlias);
            target.Set(key);
            var info = Info(key.Id);
            await _audit.AppendAsync(Entry(op, principal, target, null, null, Ok)).ConfigureAwait(false);
            return info;
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, null, e).ConfigureAwait(false); }
    }

    /// <summary>Synchronous form of <see cref="RotateKeyAsync"/> for the CLI and tests; request paths await <see cref="RotateKeyAsync"/>.</summary>
    public KeyInfo RotateKey(string keyRef, string principal) => Wait(RotateKeyAsync(keyRef, principal));

    /// <summary>Adds a version and makes it the primary one (used by new encryptions and rewraps).</summary>
    public Task<KeyInfo> RotateKeyAsync(string keyRef, string principal) =>
        ChangeAsync("RotateKey", keyRef, principal, null, (tx, key) =>
        {
            CheckUsable(key);
            return Rotate(tx, key);
        });

    /// <summary>Synchronous form of <see cref="DisableKeyAsync"/> for the CLI and tests; request paths await <see cref="DisableKeyAsync"/>.</summary>
    public KeyInfo DisableKey(string keyRef, string principal) => Wait(DisableKeyAsync(keyRef, principal));

    public Task<KeyInfo> DisableKeyAsync(string keyRef, string principal) =>
        ChangeAsync("DisableKey", keyRef, principal, null, (_, key) => key.State switch
        {
            KeyState.Enabled or KeyState.Disabled => (key with { State = KeyState.Disabled }, null),
            _ => throw NotChangeable(key),
        });

    /// <summary>Synchronous form of <see cref="EnableKeyAsync"/> for the CLI and tests; request paths await <see cref="EnableKeyAsync"/>.</summary>
    public KeyInfo EnableKey(string keyRef, string principal) => Wait(EnableKeyAsync(keyRef, principal));

    public Task<KeyInfo> EnableKeyAsync(string keyRef, string principal) =>
        ChangeAsync("EnableKey", keyRef, principal, null, (_, key) => key.State switch
        {
            KeyState.Enabled or KeyState.Disabled => (key with { State = KeyState.Enabled }, null),
            _ => throw NotChangeable(key),
        });

    /// <summary>Synchronous form of <see cref="ScheduleDestructionAsync"/> for the CLI and tests; request paths await <see cref="ScheduleDestructionAsync"/>.</summary>
    public KeyInfo ScheduleDestruction(string keyRef, TimeSpan? pendingWindow, string principal) => Wait(ScheduleDestructionAsync(keyRef, pendingWindow, principal));

    /// <summary>Schedules destruction after <paramref name="pendingWindow"/> (default 7 days, at least 1 day).
    /// Until then the key cannot be used and the destruction can be cancelled.</summary>
    public async Task<KeyInfo> ScheduleDestructionAsync(string keyRef, TimeSpan? pendingWindow, string principal)
    {
        var window = pendingWindow ?? _options.DefaultDestructionDelay;
        await CheckDestructionGuardAsync("ScheduleDestruction", keyRef, principal).ConfigureAwait(false);
        return await ChangeAsync("ScheduleDestruction", keyRef, principal, Json(("pending_seconds", (long)window.TotalSeconds)), (_, key) =>
        {
            if (window <= TimeSpan.Zero || (window < KmsOptions.MinimumDestructionDelay && !_options.AllowShortDestructionDelayForTests))
                throw new KmsException(KmsError.InvalidArgument,
                    $"The waiting period before destroying key '{key.Name}' must be at least {KmsOptions.MinimumDestructionDelay.TotalDays:0} day.");
            if (key.State is not (KeyState.Enabled or KeyState.Disabled)) throw NotChangeable(key);
            return (key with
            {
                StateBeforeDestruction = key.State,
                State = KeyState.PendingDestruction,
                DestructionDate = _time.GetUtcNow() + window,
            }, null);
        }).ConfigureAwait(false);
    }

    /// <summary>What else must agree to a key's destruction (locked object versions); null: nothing.</summary>
    public IKeyDestructionGuard? DestructionGuard { get; set; }

    /// <summary>Refuses, audited, a destruction <see cref="DestructionGuard"/> refuses (FailedPrecondition-like: InvalidState).</summary>
    private async Task CheckDestructionGuardAsync(string op, string keyRef, string principal)
    {
        if (DestructionGuard is not { } guard) return;
        var target = new Target(keyRef);
        try
        {
            var key = Resolve(keyRef).Key;
            target.Set(key);
            if (await guard.RefusalAsync(key.Id).ConfigureAwait(false) is { } why)
                throw new KmsException(KmsError.DestructionRefused, why);
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, null, e).ConfigureAwait(false); }
    }

    /// <summary>Synchronous form of <see cref="CancelDestructionAsync"/> for the CLI and tests; request paths await <see cref="CancelDestructionAsync"/>.</summary>
    public KeyInfo CancelDestruction(string keyRef, string principal, bool leaveDisabled = false) => Wait(CancelDestructionAsync(keyRef, principal, leaveDisabled));

    /// <summary>Cancels a scheduled destruction. The key returns to the state it had before, or, with
    /// <paramref name="leaveDisabled"/>, is left disabled (what AWS KMS's CancelKeyDeletion does: whoever cancels
    /// must enable the key on purpose).</summary>
    public Task<KeyInfo> CancelDestructionAsync(string keyRef, string principal, bool leaveDisabled = false) =>
        ChangeAsync("CancelDestruction", keyRef, principal, null, (_, key) =>
        {
            if (key.State == KeyState.Destroyed) throw NotChangeable(key);
            if (key.State != KeyState.PendingDestruction)
                throw new KmsException(KmsError.InvalidArgument, $"Key '{key.Name}' is not scheduled for destruction.");
            var state = leaveDisabled ? KeyState.Disabled : key.StateBeforeDestruction ?? KeyState.Enabled;
            return (key with { State = state, StateBeforeDestruction = null, DestructionDate = null }, null);
        });

    /// <summary>Synchronous form of <see cref="DestroyDueKeysAsync"/> for the CLI and tests; request paths await <see cref="DestroyDueKeysAsync"/>.</summary>
    public int DestroyDueKeys(string principal) => Wait(DestroyDueKeysAsync(principal));

    /// <summary>Destroys every key whose destruction date has passed: the material of all its
    /// versions is overwritten and erased (irreversible). Returns how many keys were destroyed.</summary>
    public async Task<int> DestroyDueKeysAsync(string principal)
    {
        var now = _time.GetUtcNow();
        var destroyed = 0;
        foreach (var due in _store.ListKeys().Where(k => k.State == KeyState.PendingDestruction && k.DestructionDate <= now))
        {
            var target = new Target(due.Name);
            target.Set(due);
            // Data that must outlive the key (locked object versions) keeps it pending: refused, audited, retried next pass.
            if (DestructionGuard is { } guard && await guard.RefusalAsync(due.Id).ConfigureAwait(false) is { } why)
            {
                await RefusedAsync("DestroyKey", principal, target, null, new KmsException(KmsError.DestructionRefused, why)).ConfigureAwait(false);
                continue;
            }
            try
            {
                using var tx = _store.BeginWrite();
                var key = tx.FindKeyById(due.Id);
                if (key is null || key.State != KeyState.PendingDestruction || key.DestructionDate > now) continue;
                tx.DestroyVersions(key.Id, now);
                tx.UpdateKey(key with { State = KeyState.Destroyed, StateBeforeDestruction = null, NextRotation = null });
                tx.AppendAudit(Entry("DestroyKey", principal, target, Json(("scheduled", key.DestructionDate)), null, Ok));
                tx.Commit();
                destroyed++;
            }
            catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync("DestroyKey", principal, target, null, e).ConfigureAwait(false); }
        }
        return destroyed;
    }

    /// <summary>Synchronous form of <see cref="SetRotationPolicyAsync"/> for the CLI and tests; request paths await <see cref="SetRotationPolicyAsync"/>.</summary>
    public KeyInfo SetRotationPolicy(string keyRef, TimeSpan? period, string principal) => Wait(SetRotationPolicyAsync(keyRef, period, principal));

    /// <summary>Sets (or clears, with null) the automatic rotation period; the next rotation is due one period from now.</summary>
    public Task<KeyInfo> SetRotationPolicyAsync(string keyRef, TimeSpan? period, string principal) =>
        ChangeAsync("SetRotationPolicy", keyRef, principal, Json(("period_seconds", period is { } p ? (long)p.TotalSeconds : null)), (_, key) =>
        {
            if (period is { } p && p < TimeSpan.FromDays(1) && !_options.AllowShortDestructionDelayForTests)
                throw new KmsException(KmsError.InvalidArgument, $"The rotation period of key '{key.Name}' must be at least 1 day.");
            if (period is { } q && q <= TimeSpan.Zero)
                throw new KmsException(KmsError.InvalidArgument, "A rotation period must be positive.");
            if (key.State == KeyState.Destroyed) throw NotChangeable(key);
            return (key with { RotationPeriod = period, NextRotation = period is { } r ? _time.GetUtcNow() + r : null }, null);
        });

    /// <summary>Synchronous form of <see cref="RotateDueKeysAsync"/> for the CLI and tests; request paths await <see cref="RotateDueKeysAsync"/>.</summary>
    public int RotateDueKeys(string principal) => Wait(RotateDueKeysAsync(principal));

    /// <summary>Rotates every enabled key whose rotation is due. Returns how many were rotated.</summary>
    public async Task<int> RotateDueKeysAsync(string principal)
    {
        const string op = "RotateKey";
        CheckPrincipal(principal);
        var now = _time.GetUtcNow();
        var context = Json(("reason", "rotation policy"));
        var rotated = 0;
        foreach (var candidate in _store.ListKeys().Where(k => IsDue(k, now)))
        {
            var target = new Target(candidate.Id);
            try
            {
                // Due is checked again inside the write transaction, which writers take one at a time: another
                // process (a second server, `coffre key rotate`, `coffre key disable`) may have rotated or
                // disabled the key since the list was read, and a key must not rotate twice for one period.
                using var tx = _store.BeginWrite();
                var key = tx.FindKeyById(candidate.Id);
                if (key is null || !IsDue(key, now)) continue;
                target.Set(key);
                var (updated, version) = Rotate(tx, key);
                target.Version = version;
                tx.UpdateKey(updated);
                tx.AppendAudit(Entry(op, principal, target, context, null, Ok));
                tx.Commit();
                rotated++;
            }
            catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, context, e).ConfigureAwait(false); }
        }
        return rotated;

        static bool IsDue(KeyRecord k, DateTimeOffset now) => k.State == KeyState.Enabled && k.NextRotation <= now;
    }

    /// <summary>Synchronous form of <see cref="SetMinimumDecryptionVersionAsync"/> for the CLI and tests; request paths await <see cref="SetMinimumDecryptionVersionAsync"/>.</summary>
    public KeyInfo SetMinimumDecryptionVersion(string keyRef, int version, string principal) => Wait(SetMinimumDecryptionVersionAsync(keyRef, version, principal));

    /// <summary>Refuses decryption with versions below <paramref name="version"/> (1 ≤ version ≤ primary).</summary>
    public Task<KeyInfo> SetMinimumDecryptionVersionAsync(string keyRef, int version, string principal) =>
        ChangeAsync("SetMinimumDecryptionVersion", keyRef, principal, Json(("version", version)), (_, key) =>
        {
            if (key.State == KeyState.Destroyed) throw NotChangeable(key);
            if (version < 1 || version > key.PrimaryVersion)
                throw new KmsException(KmsError.InvalidArgument, $"The minimum decryption version of key '{key.Name}' must be between 1 and {key.PrimaryVersion}.");
            return (key with { MinimumDecryptionVersion = version }, null);
        });

    /// <summary>Synchronous form of <see cref="DisableKeyVersionAsync"/> for the CLI and tests; request paths await <see cref="DisableKeyVersionAsync"/>.</summary>
    public KeyInfo DisableKeyVersion(string keyRef, int version, string principal) => Wait(DisableKeyVersionAsync(keyRef, version, principal));

    public Task<KeyInfo> DisableKeyVersionAsync(string keyRef, int version, string principal) =>
        SetVersionStateAsync("DisableKeyVersion", keyRef, version, KeyVersionState.Disabled, principal);

    /// <summary>Synchronous form of <see cref="EnableKeyVersionAsync"/> for the CLI and tests; request paths await <see cref="EnableKeyVersionAsync"/>.</summary>
    public KeyInfo EnableKeyVersion(string keyRef, int version, string principal) => Wait(EnableKeyVersionAsync(keyRef, version, principal));

    public Task<KeyInfo> EnableKeyVersionAsync(string keyRef, int version, string principal) =>
        SetVersionStateAsync("EnableKeyVersion", keyRef, version, KeyVersionState.Enabled, principal);

    private Task<KeyInfo> SetVersionStateAsync(string op, string keyRef, int version, KeyVersionState state, string principal) =>
        ChangeAsync(op, keyRef, principal, null, (tx, key) =>
        {
            if (key.State == KeyState.Destroyed) throw NotChangeable(key);
            var record = tx.ListVersions(key.Id).FirstOrDefault(v => v.Version == version)
                ?? throw new KmsException(KmsError.NotFound, $"Key '{key.Name}' has no version {version}.");
            if (record.State == KeyVersionState.Destroyed)
                throw new KmsException(KmsError.Destroyed, $"Version {version} of key '{key.Name}' was destroyed.");
            tx.SetVersionState(key.Id, version, state);
            return (key, version);
        });

    // ---- tags and authorization support -------------------------------------------------------

    /// <summary>Synchronous form of <see cref="TagKeyAsync"/> for the CLI and tests; request paths await <see cref="TagKeyAsync"/>.</summary>
    public KeyInfo TagKey(string keyRef, IReadOnlyDictionary<string, string> tags, string principal) => Wait(TagKeyAsync(keyRef, tags, principal));

    /// <summary>Adds or replaces tags of a key (at most 50 tags; keys 1–128, values 0–256 characters).</summary>
    public Task<KeyInfo> TagKeyAsync(string keyRef, IReadOnlyDictionary<string, string> tags, string principal) =>
        ChangeAsync("TagKey", keyRef, principal, Json(("tags", string.Join(",", (tags ?? new Dictionary<string, string>()).Keys))), (_, key) =>
        {
            ArgumentNullException.ThrowIfNull(tags);
            if (key.State == KeyState.Destroyed) throw NotChangeable(key);
            var merged = new Dictionary<string, string>(key.Tags, StringComparer.Ordinal);
            foreach (var (k, v) in tags)
            {
                if (k is not { Length: >= 1 and <= 128 } || v is not { Length: <= 256 })
                    throw new KmsException(KmsError.InvalidArgument, "A tag key is 1-128 characters and a tag value at most 256.");
                merged[k] = v;
            }
            if (merged.Count > 50) throw new KmsException(KmsError.InvalidArgument, "A key has at most 50 tags.");
            return (key with { Tags = merged }, null);
        });

    /// <summary>Synchronous form of <see cref="UntagKeyAsync"/> for the CLI and tests; request paths await <see cref="UntagKeyAsync"/>.</summary>
    public KeyInfo UntagKey(string keyRef, IReadOnlyCollection<string> tagKeys, string principal) => Wait(UntagKeyAsync(keyRef, tagKeys, principal));

    /// <summary>Removes tags (by tag key) from a key; absent tags are ignored.</summary>
    public Task<KeyInfo> UntagKeyAsync(string keyRef, IReadOnlyCollection<string> tagKeys, string principal) =>
        ChangeAsync("UntagKey", keyRef, principal, Json(("tags", string.Join(",", tagKeys ?? []))), (_, key) =>
        {
            ArgumentNullException.ThrowIfNull(tagKeys);
            if (key.State == KeyState.Destroyed) throw NotChangeable(key);
            var remaining = new Dictionary<string, string>(key.Tags, StringComparer.Ordinal);
            foreach (var k in tagKeys) remaining.Remove(k);
            return (key with { Tags = remaining }, null);
        });

    /// <summary>
    /// The id of the key an id, name or alias refers to, or null when there is none. Not audited and
    /// reveals nothing to a caller by itself: a face uses it to decide whether a principal may use a key
    /// (an authorization decision that is then recorded, by the operation or by <see cref="RecordDenied"/>).
    /// </summary>
    public string? TryResolveKeyId(string keyRef)
    {
        if (string.IsNullOrEmpty(keyRef)) return null;
        try
        {
            return Resolve(keyRef).Key.Id;
        }
        catch (KmsException e) when (e.Error is KmsError.NotFound or KmsError.InvalidArgument)
        {
            return null;
        }
    }

    /// <summary>
    /// The primary version of a key, or null when there is no such key: a metadata read for
    /// schedulers (the rewrap sweep asks it of every key in use at every maintenance run). Like
    /// <see cref="TryResolveKeyId"/> it releases no key material and is not audited, so an idle
    /// server does not grow the audit trail every minute.
    /// </summary>
    public int? TryPrimaryVersion(string keyRef)
    {
        if (TryResolveKeyId(keyRef) is not { } id) return null;
        return Resolve(id).Key.PrimaryVersion;
    }

    /// <summary>Whether the key exists and is enabled (every use of a disabled, pending or destroyed key is
    /// refused). Unaudited, like <see cref="TryPrimaryVersion"/>: the rewrap sweep asks it of every key in use,
    /// to pass over switched-off keys instead of recording one refused call per key and maintenance run.</summary>
    public bool IsEnabled(string keyRef) => TryResolveKeyId(keyRef) is { } id && Resolve(id).Key.State == KeyState.Enabled;

    /// <summary>Synchronous form of <see cref="RecordDeniedAsync"/> for the CLI and tests; request paths await <see cref="RecordDeniedAsync"/>.</summary>
    public KmsException RecordDenied(string operation, string? keyRef, string principal, string? reason = null, string? context = null) =>
        Wait(RecordDeniedAsync(operation, keyRef, principal, reason, context));

    /// <summary>Records that <paramref name="principal"/> was refused <paramref name="operation"/> on
    /// <paramref name="keyRef"/> (may be null) by a face's access policy; returns the AccessDenied exception to
    /// throw (AuditUnavailable if the record cannot be written: no audit, no answer).</summary>
    /// <param name="context">The record's context (JSON object): a face's name and the request's details, as it records its successes.</param>
    public async Task<KmsException> RecordDeniedAsync(string operation, string? keyRef, string principal, string? reason = null, string? context = null)
    {
        var target = new Target(keyRef);
        if (keyRef is not null && TryResolveKeyId(keyRef) is { } id && Resolve(id).Key is { } key) target.Set(key);
        var message = $"Access key '{KeyNames.Shorten(principal)}' may not perform {operation}"
            + (keyRef is null ? "" : $" on key '{KeyNames.Shorten(keyRef)}'") + (reason is null ? "." : $": {reason}.");
        return await RefusedAsync(operation, principal, target, context, new KmsException(KmsError.AccessDenied, message)).ConfigureAwait(false);
    }

    // ---- aliases ----------------------------------------------------------------------------

    /// <summary>Synchronous form of <see cref="CreateAliasAsync"/> for the CLI and tests; request paths await <see cref="CreateAliasAsync"/>.</summary>
    public AliasInfo CreateAlias(string alias, string keyRef, string principal) => Wait(CreateAliasAsync(alias, keyRef, principal));

    public Task<AliasInfo> CreateAliasAsync(string alias, string keyRef, string principal) => SetAliasAsync("CreateAlias", alias, keyRef, principal, create: true);

    /// <summary>Synchronous form of <see cref="UpdateAliasAsync"/> for the CLI and tests; request paths await <see cref="UpdateAliasAsync"/>.</summary>
    public AliasInfo UpdateAlias(string alias, string keyRef, string principal) => Wait(UpdateAliasAsync(alias, keyRef, principal));

    public Task<AliasInfo> UpdateAliasAsync(string alias, string keyRef, string principal) => SetAliasAsync("UpdateAlias", alias, keyRef, principal, create: false);

    private async Task<AliasInfo> SetAliasAsync(string op, string alias, string keyRef, string principal, bool create)
    {
        var target = new Target(keyRef);
        var context = Json(("alias", alias));
        try
        {
            CheckPrincipal(principal);
            KeyNames.CheckAlias(alias);
            var now = _time.GetUtcNow();
            KeyRecord key;
            AliasRecord record;
            using (var tx = _store.BeginWrite())
            {
                key = ResolveRecord(tx, keyRef);
                target.Set(key);
                var existing = tx.FindAlias(alias);
                if (create && existing is not null)
                    throw new KmsException(KmsError.AlreadyExists, $"The alias '{alias}' already exists; update it to point it at another key.");
                if (!create && existing is null)
                    throw new KmsException(KmsError.NotFound, $"There is no alias '{alias}'; create it first.");
                if (key.State == KeyState.Destroyed) throw NotChangeable(key);
                record = new AliasRecord(alias, key.Id, existing?.Created ?? now);
                tx.UpsertAlias(record);
                tx.AppendAudit(Entry(op, principal, target, context, null, Ok));
                tx.Commit();
            }
            return new AliasInfo(alias, key.Id, key.Name, record.Created);
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, context, e).ConfigureAwait(false); }
    }

    /// <summary>Synchronous form of <see cref="DeleteAliasAsync"/> for the CLI and tests; request paths await <see cref="DeleteAliasAsync"/>.</summary>
    public void DeleteAlias(string alias, string principal) => Wait(DeleteAliasAsync(alias, principal));

    public async Task DeleteAliasAsync(string alias, string principal)
    {
        const string op = "DeleteAlias";
        var target = new Target(null);
        var context = Json(("alias", alias));
        try
        {
            CheckPrincipal(principal);
            KeyNames.CheckAlias(alias);
            using var tx = _store.BeginWrite();
            var existing = tx.FindAlias(alias) ?? throw new KmsException(KmsError.NotFound, $"There is no alias '{alias}'.");
            if (tx.FindKeyById(existing.KeyId) is { } key) target.Set(key);
            tx.DeleteAlias(alias);
            tx.AppendAudit(Entry(op, principal, target, context, null, Ok));
            tx.Commit();
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, context, e).ConfigureAwait(false); }
    }

    /// <summary>Synchronous form of <see cref="ListAliasesAsync"/> for the CLI and tests; request paths await <see cref="ListAliasesAsync"/>.</summary>
    public IReadOnlyList<AliasInfo> ListAliases(string principal) => Wait(ListAliasesAsync(principal));

    public async Task<IReadOnlyList<AliasInfo>> ListAliasesAsync(string principal)
    {
        const string op = "ListAliases";
        try
        {
            CheckPrincipal(principal);
            var names = _store.ListKeys().ToDictionary(k => k.Id, k => k.Name);
            var list = _store.ListAliases().Select(a => new AliasInfo(a.Alias, a.KeyId, names.GetValueOrDefault(a.KeyId, "?"), a.Created)).ToList();
            await _audit.AppendAsync(Entry(op, principal, null, null, null, Ok)).ConfigureAwait(false);
            return list;
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, null, null, e).ConfigureAwait(false); }
    }

    // ---- audit ------------------------------------------------------------------------------

    /// <summary>Synchronous form of <see cref="ReadAuditAsync"/> for the CLI and tests; request paths await <see cref="ReadAuditAsync"/>.</summary>
    public IReadOnlyList<AuditRecord> ReadAudit(AuditFilter filter, string principal) => Wait(ReadAuditAsync(filter, principal));

    /// <summary>Reads audit records matching <paramref name="filter"/> (in sequence order). The read itself is recorded.</summary>
    public async Task<IReadOnlyList<AuditRecord>> ReadAuditAsync(AuditFilter filter, string principal)
    {
        const string op = "ReadAudit";
        try
        {
            CheckPrincipal(principal);
            ArgumentNullException.ThrowIfNull(filter);
            var records = _auditLog.Read(filter);
            await _audit.AppendAsync(Entry(op, principal, null, null, null, Ok)).ConfigureAwait(false);
            return records;
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, null, null, e).ConfigureAwait(false); }
    }

    /// <summary>
    /// Every record matching <paramref name="filter"/> (its <see cref="AuditFilter.Limit"/> caps the total; with
    /// <see cref="AuditFilter.Newest"/>, the newest ones), read page by page; then, with <paramref name="follow"/>,
    /// each new matching record as it is committed, until <paramref name="ct"/> is cancelled. For exports and
    /// <c>coffre audit tail --follow</c>. Recorded once, when it starts (as ReadAudit, with <c>follow</c> in its context).
    /// </summary>
    public async IAsyncEnumerable<AuditRecord> StreamAudit(AuditFilter filter, string principal, bool follow, TimeSpan pollInterval,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        const string op = "ReadAudit";
        const int page = 1000;
        ArgumentNullException.ThrowIfNull(filter);
        try
        {
            CheckPrincipal(principal);
            await _audit.AppendAsync(Entry(op, principal, null, Json(("follow", follow)), null, Ok)).ConfigureAwait(false);
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, null, null, e).ConfigureAwait(false); }

        // Reads only up to the tail seen first, then moves past it: a record committed meanwhile has a higher
        // sequence number and is found by the next read, none is skipped (one writer assigns sequences in commit order).
        var seen = filter.AfterSequence ?? 0;
        var remaining = filter.Limit;
        var first = true;
        while (true)
        {
            var tail = Tail();
            while (remaining > 0 && seen < tail)
            {
                var take = filter.Newest && first ? remaining : Math.Min(page, remaining);
                var records = _auditLog.Read(filter with { AfterSequence = seen, ThroughSequence = tail, Limit = take, Newest = filter.Newest && first });
                first = false;
                foreach (var r in records)
                {
                    yield return r;
                    seen = r.Sequence;
                }
                remaining = filter.Newest ? int.MaxValue : remaining - records.Count;
                if (records.Count < take) break;
            }
            seen = Math.Max(seen, tail);
            first = false;
            if (!follow || remaining <= 0) yield break;
            try
            {
                await Task.Delay(pollInterval, _time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }

        long Tail() => _auditLog.Head()?.Sequence ?? 0;
    }

    /// <summary>Synchronous form of <see cref="VerifyAuditAsync"/> for the CLI and tests; request paths await <see cref="VerifyAuditAsync"/>.</summary>
    public AuditVerification VerifyAudit(string principal) => Wait(VerifyAuditAsync(principal));

    /// <summary>Verifies the whole audit hash chain; returns the first bad record and why.</summary>
    public async Task<AuditVerification> VerifyAuditAsync(string principal)
    {
        const string op = "VerifyAudit";
        try
        {
            CheckPrincipal(principal);
            var result = AuditChain.Verify(_auditLog.ReadChain());
            await _audit.AppendAsync(Entry(op, principal, null, Json(("chain_ok", result.Ok), ("first_bad", result.FirstBadSequence)), null, Ok)).ConfigureAwait(false);
            return result;
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, null, null, e).ConfigureAwait(false); }
    }

    // ---- helpers ----------------------------------------------------------------------------

    /// <summary>Runs a read-modify-write of one key in a store transaction with its audit record.</summary>
    private async Task<KeyInfo> ChangeAsync(string op, string keyRef, string principal, string? context,
        Func<IKeyStoreTransaction, KeyRecord, (KeyRecord Updated, int? Version)> mutate)
    {
        var target = new Target(keyRef);
        try
        {
            CheckPrincipal(principal);
            string id;
            using (var tx = _store.BeginWrite())
            {
                var key = ResolveRecord(tx, keyRef);
                target.Set(key);
                var (updated, version) = mutate(tx, key);
                target.Version = version;
                if (updated != key) tx.UpdateKey(updated);
                tx.AppendAudit(Entry(op, principal, target, context, null, Ok));
                tx.Commit();
                id = key.Id;
            }
            return Info(id);
        }
        catch (KmsException e) when (e.Error != KmsError.AuditUnavailable) { throw await RefusedAsync(op, principal, target, context, e).ConfigureAwait(false); }
    }

    private (KeyRecord, int?) Rotate(IKeyStoreTransaction tx, KeyRecord key)
    {
        var now = _time.GetUtcNow();
        var next = tx.ListVersions(key.Id).Max(v => v.Version) + 1;
        tx.InsertVersion(NewVersion(key, next, now));
        return (key with { PrimaryVersion = next, NextRotation = key.RotationPeriod is { } p ? now + p : null }, next);
    }

    private KeyVersionRecord NewVersion(KeyRecord key, int version, DateTimeOffset now)
    {
        if (key.Spec.IsRsa()) return new KeyVersionRecord(key.Id, version, KeyVersionState.Enabled, now, null, NewSealedKeyPair(key, version));
        var keyId = key.Id;
        var material = GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            RandomNumberGenerator.Fill(material);
            return new KeyVersionRecord(keyId, version, KeyVersionState.Enabled, now, null, WrapWithRoot(material, KekAad(keyId, version)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private static KmsException NotChangeable(KeyRecord key) => key.State switch
    {
        KeyState.PendingDestruction => new KmsException(KmsError.PendingDestruction,
            $"Key '{key.Name}' is scheduled for destruction; cancel the destruction first."),
        KeyState.Destroyed => new KmsException(KmsError.Destroyed, $"Key '{key.Name}' was destroyed; nothing can change it any more."),
        _ => new KmsException(KmsError.InvalidArgument, $"Key '{key.Name}' cannot change in its current state."),
    };

    private KeyInfo Info(string keyId)
    {
        var key = _store.FindKeyById(keyId) ?? throw new KmsException(KmsError.NotFound, $"Key {keyId} is gone.");
        return Info(key, _store.ListVersions(keyId), _store.ListAliases());
    }

    private static KeyInfo Info(KeyRecord k, IReadOnlyList<KeyVersionRecord> versions, IReadOnlyList<AliasRecord> aliases) => new(
        k.Id, k.Name, k.Description, k.Created, k.State, k.PrimaryVersion, k.MinimumDecryptionVersion, k.RotationPeriod,
        k.NextRotation, k.DestructionDate, k.Tags,
        versions.Select(v => new KeyVersionInfo(v.Version, v.State, v.Created)).ToList(),
        aliases.Where(a => a.KeyId == k.Id).Select(a => a.Alias).ToList(), k.Spec, k.Usage);
}
