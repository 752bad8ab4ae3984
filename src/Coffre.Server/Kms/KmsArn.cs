namespace Coffre.Server.Kms;

/// <summary>
/// AWS-style names of Coffre keys: <c>arn:aws:kms:REGION:ACCOUNT:key/KEY-ID</c> and
/// <c>arn:aws:kms:REGION:ACCOUNT:alias/NAME</c>. The account is a fixed, configurable id
/// (Coffre:KmsAccountId); the region is the one the client signed for. Any region is accepted in an
/// ARN a client sends (one Coffre serves every region), the account must match.
/// </summary>
public sealed class KmsArn(string accountId)
{
    public string AccountId { get; } = accountId;

    public string Key(string region, string keyId) => $"arn:aws:kms:{region}:{AccountId}:key/{keyId}";

    public string Alias(string region, string alias) => $"arn:aws:kms:{region}:{AccountId}:{alias}";

    /// <summary>A client's KeyId (key id, key ARN, alias name, alias ARN, or a Coffre key name) → a key-manager reference.</summary>
    public string ToKeyRef(string? keyId, string field = "KeyId")
    {
        if (string.IsNullOrEmpty(keyId))
            throw new KmsFaceException(KmsErrors.Validation, $"1 validation error detected: Value null at '{ToCamel(field)}' failed to satisfy constraint: Member must not be null");
        if (keyId.Length > 2048)
            throw new KmsFaceException(KmsErrors.Validation, $"1 validation error detected: Value at '{ToCamel(field)}' failed to satisfy constraint: Member must have length less than or equal to 2048");
        if (!keyId.StartsWith("arn:", StringComparison.Ordinal)) return keyId;
        // arn:partition:kms:region:account:resource
        var parts = keyId.Split(':', 6);
        if (parts.Length != 6 || parts[2] != "kms" || parts[1].Length == 0)
            throw new KmsFaceException(KmsErrors.NotFound, $"Invalid arn {keyId}");
        if (parts[4] != AccountId)
            throw new KmsFaceException(KmsErrors.NotFound, $"Key '{keyId}' does not exist (this Coffre serves account {AccountId}).");
        var resource = parts[5];
        if (resource.StartsWith("key/", StringComparison.Ordinal) && resource.Length > 4) return resource[4..];
        if (resource.StartsWith("alias/", StringComparison.Ordinal) && resource.Length > 6) return resource;
        throw new KmsFaceException(KmsErrors.NotFound, $"Invalid arn {keyId}");
    }

    private static string ToCamel(string s) => s.Length == 0 ? s : char.ToLowerInvariant(s[0]) + s[1..];
}
