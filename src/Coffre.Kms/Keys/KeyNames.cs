using System.Text.RegularExpressions;

namespace Coffre.Kms.Keys;

/// <summary>
/// Naming rules. A key name is 1–128 characters of [A-Za-z0-9._/-], starting with a letter or
/// digit, not starting with "alias/" and not shaped like a key id (a GUID). An alias is "alias/"
/// followed by a name (so the three namespaces — id, name, alias — never overlap).
/// </summary>
public static partial class KeyNames
{
    public const string AliasPrefix = "alias/";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    public static bool IsValidName(string? name) =>
        name is not null && NamePattern().IsMatch(name) && !name.StartsWith(AliasPrefix, StringComparison.Ordinal) && !IsKeyId(name);

    public static bool IsValidAlias(string? alias) =>
        alias is not null && alias.StartsWith(AliasPrefix, StringComparison.Ordinal) && alias.Length <= 256
        && NamePattern().IsMatch(alias[AliasPrefix.Length..]);

    public static bool IsKeyId(string value) => value.Length == 36 && Guid.TryParseExact(value, "D", out _);

    internal static void CheckName(string? name)
    {
        if (!IsValidName(name))
            throw new KmsException(KmsError.InvalidName,
                $"'{Shorten(name)}' is not a valid key name: use 1-128 characters of A-Z a-z 0-9 . _ / -, starting with a letter or digit, not starting with 'alias/' and not shaped like a key id.");
    }

    internal static void CheckAlias(string? alias)
    {
        if (!IsValidAlias(alias))
            throw new KmsException(KmsError.InvalidName,
                $"'{Shorten(alias)}' is not a valid alias: use 'alias/' followed by 1-128 characters of A-Z a-z 0-9 . _ / -.");
    }

    internal static string Shorten(string? value) =>
        value is null ? "" : value.Length <= 160 ? value : value[..160] + "...";
}
