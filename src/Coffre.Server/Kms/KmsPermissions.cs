using Coffre.Kms.Access;

namespace Coffre.Server.Kms;

/// <summary>Which grant of <see cref="AccessGrants"/> each KMS operation needs.</summary>
public enum KmsPermission
{
    /// <summary>Cryptographic use of a key (and GenerateRandom): a use grant on the key (<c>KmsKeys</c>), the operation among <c>KmsOperations</c>.</summary>
    Use,
    /// <summary>Metadata reads (DescribeKey, listings, rotation status, tags): a use grant as for <see cref="Use"/>, or an admin grant on the key.</summary>
    Read,
    /// <summary>State changes, deletion, rotation settings, aliases, tags: an admin grant on the key (<c>KmsAdminKeys</c>).</summary>
    Admin,
    /// <summary>CreateKey: the admin grant on every key (<c>KmsAdminKeys: ["*"]</c>).</summary>
    CreateKey,
}

/// <summary>
/// The closed table from AWS KMS operation names to the grant they need. An operation missing here
/// is not served (KmsOperations has no handler for it), so nothing falls through to a default.
/// </summary>
public static class KmsPermissions
{
    private static readonly Dictionary<string, KmsPermission> Table = new(StringComparer.Ordinal)
    {
        ["Encrypt"] = KmsPermission.Use,
        ["Decrypt"] = KmsPermission.Use,
        ["ReEncrypt"] = KmsPermission.Use,
        ["GenerateDataKey"] = KmsPermission.Use,
        ["GenerateDataKeyWithoutPlaintext"] = KmsPermission.Use,
        ["GenerateRandom"] = KmsPermission.Use,
        ["Sign"] = KmsPermission.Use,
        ["Verify"] = KmsPermission.Use,
        ["GetPublicKey"] = KmsPermission.Read,
        ["DescribeKey"] = KmsPermission.Read,
        ["ListKeys"] = KmsPermission.Read,
        ["ListAliases"] = KmsPermission.Read,
        ["GetKeyRotationStatus"] = KmsPermission.Read,
        ["ListKeyRotations"] = KmsPermission.Read,
        ["ListResourceTags"] = KmsPermission.Read,
        ["CreateKey"] = KmsPermission.CreateKey,
        ["EnableKey"] = KmsPermission.Admin,
        ["DisableKey"] = KmsPermission.Admin,
        ["ScheduleKeyDeletion"] = KmsPermission.Admin,
        ["CancelKeyDeletion"] = KmsPermission.Admin,
        ["CreateAlias"] = KmsPermission.Admin,
        ["UpdateAlias"] = KmsPermission.Admin,
        ["DeleteAlias"] = KmsPermission.Admin,
        ["EnableKeyRotation"] = KmsPermission.Admin,
        ["DisableKeyRotation"] = KmsPermission.Admin,
        ["RotateKeyOnDemand"] = KmsPermission.Admin,
        ["TagResource"] = KmsPermission.Admin,
        ["UntagResource"] = KmsPermission.Admin,
    };

    public static KmsPermission Of(string operation) =>
        Table.TryGetValue(operation, out var p) ? p : throw new ArgumentException($"No permission is defined for the KMS operation '{operation}'.", nameof(operation));

    /// <summary>The operation name of a <c>KmsOperations</c> entry ("kms:Encrypt" or "Encrypt").</summary>
    public static string Name(string entry) => entry.StartsWith("kms:", StringComparison.Ordinal) ? entry[4..] : entry;

    /// <summary>Whether the use grant's operation list allows <paramref name="operation"/>.</summary>
    public static bool Allows(IReadOnlyList<string> kmsOperations, string operation)
    {
        foreach (var entry in kmsOperations)
        {
            var name = Name(entry);
            if (name == AccessGrants.Any || string.Equals(name, operation, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>What is wrong with a <c>KmsOperations</c> list: unknown names, and administrative operations, which a use grant
    /// can never carry (they are granted with <c>KmsAdminKeys</c>).</summary>
    public static IEnumerable<string> Problems(IReadOnlyList<string> kmsOperations)
    {
        foreach (var entry in kmsOperations)
        {
            var name = Name(entry);
            if (name == AccessGrants.Any || string.IsNullOrWhiteSpace(name)) continue;
            if (!Table.TryGetValue(name, out var p))
                yield return $"KmsOperations names '{Short(entry)}', which is not a KMS operation Coffre serves; use operations are " +
                    string.Join(", ", Table.Where(t => t.Value is KmsPermission.Use or KmsPermission.Read).Select(t => t.Key).Order(StringComparer.Ordinal)) + ".";
            else if (p is KmsPermission.Admin or KmsPermission.CreateKey)
                yield return $"KmsOperations names '{name}', an administrative operation: grant it with KmsAdminKeys (administration is separate from use).";
        }
    }

    private static string Short(string s) => s.Length <= 60 ? s : s[..60] + "...";
}
