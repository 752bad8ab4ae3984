using Coffre.Server.Audit;
using Coffre.Storage.Placement;

namespace Coffre.Server.Reports;

/// <summary>
/// The report's plain-language answers, each sentence derived from a fact of the report and the threat model of
/// docs/architecture.md: providers (and whoever can compel them) see ciphertext, names and sizes, never a key; the
/// organisation's Coffre deployment holds the keys and its operators answer for their use through the audit trail.
/// </summary>
public static class ThreatModelAnswers
{
    public static IReadOnlyList<string> Plaintext(KeyCustody custody, BucketKey key, IReadOnlyList<CopyLocation> copies, AuditStatus audit)
    {
        var answers = new List<string>
        {
            "No storage provider can: every copy is AES-256-GCM ciphertext, and no provider holds a key (" + custody.KeysLocation + ").",
        };
        foreach (var copy in copies)
        {
            var compelled = copy.Facts.Exposures.Where(e => e.Status is "applies" or "disputed").Select(e => $"{e.Regime} ({e.Status})").ToList();
            answers.Add($"{Operator(copy)} ({copy.Backend}, {Country(copy)}) and anyone who can compel it" +
                (compelled.Count > 0 ? $" — including under {string.Join(", ", compelled)} —" : "") +
                " can obtain the ciphertext, object names, sizes and access times of its copy, but not the plaintext.");
        }
        answers.Add(custody.RootKind switch
        {
            "Shamir" => "The organisation can: " + custody.RootDetail + ", and the running gateway decrypts for clients holding an access key.",
            "HSM" => "The organisation can: " + custody.RootDetail + ", and the running gateway decrypts for clients holding an access key.",
            _ => "The organisation can: whoever knows the root passphrase and holds the data directory can open every key; the running gateway decrypts for clients holding an access key.",
        });
        answers.Add("Whoever controls the host running Coffre while it is unsealed can read what passes through it; " + (audit.Ok
            ? "every use of a key is recorded in the hash-chained audit trail, which verifies."
            : "the audit trail does NOT verify at present, so such use could go unnoticed: see the audit section."));
        if (key.Rotation == "overdue") answers.Add($"The bucket's key '{key.Name}' is past its rotation date: a version leaked earlier would still protect new objects.");
        return answers;
    }

    public static IReadOnlyList<string> Denial(KeyCustody custody, IReadOnlyList<CopyLocation> copies, PlacementPolicy policy, CopyHealth health)
    {
        var answers = new List<string>();
        var operators = copies.Select(Operator).Distinct(StringComparer.Ordinal).ToList();
        if (copies.Count == 0)
            answers.Add("No backend satisfies this bucket's placement policy: it cannot be written.");
        else if (operators.Count == 1)
            answers.Add($"{operators[0]} alone: every copy is with this operator, so it (or an authority that can compel it, or its outage, or the end of its contract) " +
                "can deny access to the whole bucket. A second copy with another operator (Placement: Copies 2, DistinctBy Operator) removes this.");
        else
            answers.Add($"No single provider: copies are with {operators.Count} operators ({string.Join(", ", operators)}); reads fail over, so access is denied " +
                $"only if all of them withhold or lose their copy at once. Jurisdictions: {string.Join(", ", copies.Select(c => $"{c.Backend}: {Jurisdiction(c)}"))}.");
        if (health.MissingCopies > 0)
            answers.Add($"{health.MissingCopies} copie(s) are missing now, so fewer providers than intended stand behind those objects until `coffre repair` rewrites them.");
        if (health.UnreachableChecks > 0)
            answers.Add($"{health.UnreachableChecks} check(s) could not reach a backend while this report was made.");
        answers.Add(custody.RootKind switch
        {
            "Shamir" => "The key holders: if fewer share holders than the threshold remain available, nobody can unseal, and the data is unreadable everywhere.",
            "HSM" => "The HSM: if it (or its PIN) is lost, nobody can unseal, and the data is unreadable everywhere; keep a second HSM holding the key.",
            _ => "The passphrase holder: if the root passphrase is lost, nobody can unseal, and the data is unreadable everywhere.",
        });
        answers.Add("Losing the key database (keys.db, or the PostgreSQL database) makes every object unreadable: keep its backups (docs/operations.md).");
        return answers;
    }

    private static string Operator(CopyLocation c) => c.Facts.Operator.Value ?? $"the unknown operator of {c.Backend}";

    private static string Country(CopyLocation c) => c.Facts.Country.Value ?? "country unknown";

    private static string Jurisdiction(CopyLocation c) => c.Facts.Jurisdiction.Value is { } j ? string.Join("+", j) : "unknown";
}
