namespace Coffre.Server.Cse;

/// <summary>Who a rule lets in: an address ("alice@example.com"), a domain ("@example.com") or anyone ("*"); compared
/// case-insensitively, as the specification compares the two tokens' emails.</summary>
public static class CallerPatterns
{
    public static bool Matches(IEnumerable<string> patterns, string email) => patterns.Any(p => Matches(p, email));

    public static bool Matches(string pattern, string email) =>
        pattern == "*"
        || (pattern.StartsWith('@') ? email.EndsWith(pattern, StringComparison.OrdinalIgnoreCase)
            : string.Equals(pattern, email, StringComparison.OrdinalIgnoreCase));

    public static string? Problem(string pattern) =>
        pattern == "*" || (pattern.Length > 1 && pattern.IndexOf('@') is var at && at >= 0 && at == pattern.LastIndexOf('@') && at < pattern.Length - 1)
            ? null
            : $"'{pattern}' is not an address, '@domain' or '*'.";
}
