using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;

namespace Coffre.Server.Kms;

/// <summary>
/// The supported TrentService operations (one file per group: Keys, Crypto, Aliases, Rotation, Tags).
/// Each handler checks the principal's rights, calls the key manager (which audits the call, success
/// or refusal) and writes the members of the answer object.
/// </summary>
public sealed partial class KmsOperations
{
    public const string SymmetricDefault = "SYMMETRIC_DEFAULT";

    /// <summary>The face's name, recorded beside the context of every key use it asks for (never bound into a ciphertext).</summary>
    private static readonly IReadOnlyDictionary<string, string> Face = AuditFace.Recorded(AuditFace.Kms);

    /// <summary>The audit context of the face's RSA operations, whose records bind nothing else (after <see cref="Face"/>: same file, so initialised after it).</summary>
    private static readonly string FaceContext = EncryptionContext.Json(null, Face);

    private readonly KeyManager _keys;
    private readonly KmsArn _arns;
    private readonly KmsAccess _access;
    private readonly Dictionary<string, Func<KmsCall, Utf8JsonWriter, ValueTask>> _table;

    public KmsOperations(KeyManager keys, KmsArn arns, KmsAccess access)
    {
        _keys = keys;
        _arns = arns;
        _access = access;
        _table = new(StringComparer.Ordinal)
        {
            ["CreateKey"] = CreateKey,
            ["DescribeKey"] = DescribeKey,
            ["ListKeys"] = ListKeys,
            ["EnableKey"] = EnableKey,
            ["DisableKey"] = DisableKey,
            ["ScheduleKeyDeletion"] = ScheduleKeyDeletion,
            ["CancelKeyDeletion"] = CancelKeyDeletion,
            ["CreateAlias"] = CreateAlias,
            ["UpdateAlias"] = UpdateAlias,
            ["DeleteAlias"] = DeleteAlias,
            ["ListAliases"] = ListAliases,
            ["Encrypt"] = Encrypt,
            ["Decrypt"] = Decrypt,
            ["ReEncrypt"] = ReEncrypt,
            ["GenerateDataKey"] = GenerateDataKey,
            ["GenerateDataKeyWithoutPlaintext"] = GenerateDataKeyWithoutPlaintext,
            ["GenerateRandom"] = GenerateRandom,
            ["GetPublicKey"] = GetPublicKey,
            ["Sign"] = Sign,
            ["Verify"] = Verify,
            ["EnableKeyRotation"] = EnableKeyRotation,
            ["DisableKeyRotation"] = DisableKeyRotation,
            ["GetKeyRotationStatus"] = GetKeyRotationStatus,
            ["RotateKeyOnDemand"] = RotateKeyOnDemand,
            ["ListKeyRotations"] = ListKeyRotations,
            ["TagResource"] = TagResource,
            ["UntagResource"] = UntagResource,
            ["ListResourceTags"] = ListResourceTags,
        };
    }

    public IEnumerable<string> Names => _table.Keys;

    public bool TryGet(string operation, [NotNullWhen(true)] out Func<KmsCall, Utf8JsonWriter, ValueTask>? handler) =>
        _table.TryGetValue(operation, out handler);

    // ---- helpers ------------------------------------------------------------------------------

    /// <summary>The key-manager reference of a request's key member, after checking the principal may use it.</summary>
    private async ValueTask<string> AuthorizedKeyAsync(KmsCall c, string? keyId, string field = "KeyId")
    {
        var keyRef = _arns.ToKeyRef(keyId, field);
        await _access.CheckAsync(c.Access, c.Principal, c.Operation, keyRef);
        return keyRef;
    }

    private ValueTask AuthorizeOperationAsync(KmsCall c) => _access.CheckAsync(c.Access, c.Principal, c.Operation, null);

    internal static KmsFaceException Invalid(string member, string constraint, object? value = null) =>
        new(KmsErrors.Validation, value is null
            ? $"1 validation error detected: Value at '{Camel(member)}' failed to satisfy constraint: {constraint}"
            : $"1 validation error detected: Value '{value}' at '{Camel(member)}' failed to satisfy constraint: {constraint}");

    private static KmsFaceException Missing(string member) =>
        new(KmsErrors.Validation, $"1 validation error detected: Value null at '{Camel(member)}' failed to satisfy constraint: Member must not be null");

    private static string Camel(string s) => s.Length == 0 ? s : char.ToLowerInvariant(s[0]) + s[1..];

    private static void CheckAlgorithm(string? algorithm, string member)
    {
        if (algorithm is not null && algorithm != SymmetricDefault)
            throw new KmsFaceException(KmsErrors.InvalidKeyUsage, $"{member} {algorithm} is not supported by a symmetric key; use {SymmetricDefault}.");
    }

    /// <summary>Paging by position: Marker is the index of the next item (opaque to clients).</summary>
    private static (int Start, int Count) Page(KmsRequest r, int total)
    {
        var limit = r.Limit ?? 100;
        if (limit is < 1 or > 1000) throw Invalid("Limit", "Member must have value between 1 and 1000", limit);
        var start = 0;
        if (r.Marker is not null && (!int.TryParse(r.Marker, NumberStyles.None, CultureInfo.InvariantCulture, out start) || start > total))
            throw new KmsFaceException(KmsErrors.InvalidMarker, "The marker does not come from a previous answer of this operation.");
        return (start, Math.Min(limit, total - start));
    }

    private static void WritePageEnd(Utf8JsonWriter w, int start, int count, int total)
    {
        var truncated = start + count < total;
        w.WriteBoolean("Truncated", truncated);
        if (truncated) w.WriteString("NextMarker", (start + count).ToString(CultureInfo.InvariantCulture));
    }

    public static string KeyStateName(KeyState state) => state switch
    {
        KeyState.Enabled => "Enabled",
        KeyState.Disabled => "Disabled",
        KeyState.PendingDestruction => "PendingDeletion",
        _ => "Unavailable",
    };

    private void WriteKeyMetadata(Utf8JsonWriter w, string region, KeyInfo k)
    {
        w.WriteStartObject("KeyMetadata");
        w.WriteString("AWSAccountId", _arns.AccountId);
        w.WriteString("KeyId", k.Id);
        w.WriteString("Arn", _arns.Key(region, k.Id));
        KmsJson.WriteTime(w, "CreationDate", k.Created);
        w.WriteBoolean("Enabled", k.State == KeyState.Enabled);
        w.WriteString("Description", k.Description ?? "");
        w.WriteString("KeyUsage", StoredNames.Text(k.Usage));
        w.WriteString("KeyState", KeyStateName(k.State));
        if (k.DestructionDate is { } d) KmsJson.WriteTime(w, "DeletionDate", d);
        w.WriteString("Origin", "AWS_KMS");
        w.WriteString("KeyManager", "CUSTOMER");
        WriteSpecAndAlgorithms(w, k.Spec, k.Usage);
        w.WriteBoolean("MultiRegion", false);
        w.WriteEndObject();
    }
}
