using Coffre.Kms.Keys;

namespace Coffre.Kms.Store;

/// <summary>How key and version states are spelled in every key store's tables (docs/format.md §6.3), so that
/// SQLite and PostgreSQL store the same words and a migration copies them as they are.</summary>
public static class StoredNames
{
    public static string Text(Keys.KeyState s) => s switch
    {
        Keys.KeyState.Enabled => "enabled",
        Keys.KeyState.Disabled => "disabled",
        Keys.KeyState.PendingDestruction => "pending_destruction",
        Keys.KeyState.Destroyed => "destroyed",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static Keys.KeyState KeyState(string s) => s switch
    {
        "enabled" => Keys.KeyState.Enabled,
        "disabled" => Keys.KeyState.Disabled,
        "pending_destruction" => Keys.KeyState.PendingDestruction,
        "destroyed" => Keys.KeyState.Destroyed,
        _ => throw new KmsException(KmsError.StoreUnavailable, $"The key store holds an unknown key state '{s}'; it was written by a newer Coffre or damaged."),
    };

    public static string Text(KeyVersionState s) => s switch
    {
        KeyVersionState.Enabled => "enabled",
        KeyVersionState.Disabled => "disabled",
        KeyVersionState.Destroyed => "destroyed",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static KeyVersionState VersionState(string s) => s switch
    {
        "enabled" => KeyVersionState.Enabled,
        "disabled" => KeyVersionState.Disabled,
        "destroyed" => KeyVersionState.Destroyed,
        _ => throw new KmsException(KmsError.StoreUnavailable, $"The key store holds an unknown version state '{s}'; it was written by a newer Coffre or damaged."),
    };

    /// <summary>Key specs as stored: AWS KMS's names, which the KMS face also speaks.</summary>
    public static string Text(KeySpec s) => s switch
    {
        KeySpec.SymmetricDefault => "SYMMETRIC_DEFAULT",
        KeySpec.Rsa2048 => "RSA_2048",
        KeySpec.Rsa3072 => "RSA_3072",
        KeySpec.Rsa4096 => "RSA_4096",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static KeySpec Spec(string s) => KeySpecs.TryParse(s) ??
        throw new KmsException(KmsError.StoreUnavailable, $"The key store holds an unknown key spec '{s}'; it was written by a newer Coffre or damaged.");

    public static string Text(KeyUsage u) => u switch
    {
        KeyUsage.EncryptDecrypt => "ENCRYPT_DECRYPT",
        KeyUsage.SignVerify => "SIGN_VERIFY",
        _ => throw new ArgumentOutOfRangeException(nameof(u)),
    };

    public static KeyUsage Usage(string s) => KeySpecs.TryParseUsage(s) ??
        throw new KmsException(KmsError.StoreUnavailable, $"The key store holds an unknown key usage '{s}'; it was written by a newer Coffre or damaged.");

    /// <summary>Tags as stored: a JSON object with members in ordinal order (stable bytes for equal tag sets).</summary>
    public static string TagsJson(IReadOnlyDictionary<string, string> tags) =>
        System.Text.Json.JsonSerializer.Serialize(new SortedDictionary<string, string>(tags.ToDictionary(), StringComparer.Ordinal));

    public static IReadOnlyDictionary<string, string> Tags(string json) =>
        System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? new Dictionary<string, string>();
}
