namespace Coffre.Kms.Access;

/// <summary>
/// What an access key may do. Closed and deny-by-default: a key with <see cref="None"/> may do nothing.
/// Each list holds names or "*" (every one). Bucket reads (GET, HEAD, listings, copy sources) and
/// writes (PUT, DELETE, multipart uploads, copy destinations, bucket creation and deletion) are separate
/// grants. KMS <i>use</i> (cryptographic operations and metadata reads on <see cref="KmsKeys"/>,
/// narrowed to <see cref="KmsOperations"/>) is separate from KMS <i>administration</i> (state changes,
/// deletion, rotation settings, aliases, tags on <see cref="KmsAdminKeys"/>; "*" also allows CreateKey).
/// <see cref="Admin"/> is the deployment grant: access-key management through the admin API.
/// The mapping of protocol operations onto these grants is the faces' business (docs/operations.md).
/// </summary>
public sealed record AccessGrants
{
    public const string Any = "*";

    public IReadOnlyList<string> ReadBuckets { get; init; } = [];
    public IReadOnlyList<string> WriteBuckets { get; init; } = [];
    public IReadOnlyList<string> KmsKeys { get; init; } = [];
    /// <summary>The use operations allowed on <see cref="KmsKeys"/> (AWS names, with or without "kms:"); "*": every use operation.</summary>
    public IReadOnlyList<string> KmsOperations { get; init; } = [Any];
    public IReadOnlyList<string> KmsAdminKeys { get; init; } = [];
    public bool Admin { get; init; }
    /// <summary>Buckets where the key may lift S3 Object Lock's GOVERNANCE retention (s3:BypassGovernanceRetention):
    /// delete a version or shorten its retention, sending x-amz-bypass-governance-retention. COMPLIANCE is never lifted.</summary>
    public IReadOnlyList<string> BypassGovernanceBuckets { get; init; } = [];

    /// <summary>Nothing at all: what a new access key holds until it is granted something.</summary>
    public static AccessGrants None { get; } = new();

    /// <summary>Every grant: the first administrator's root credentials.</summary>
    public static AccessGrants All { get; } = new()
    {
        ReadBuckets = [Any], WriteBuckets = [Any], KmsKeys = [Any], KmsAdminKeys = [Any], Admin = true, BypassGovernanceBuckets = [Any],
    };

    public bool MayReadBucket(string bucket) => Matches(ReadBuckets, bucket);
    public bool MayWriteBucket(string bucket) => Matches(WriteBuckets, bucket);
    /// <summary>Whether the bucket is visible at all (ListBuckets, and the first check of any request naming it).</summary>
    public bool MaySeeBucket(string bucket) => MayReadBucket(bucket) || MayWriteBucket(bucket);
    public bool MayBypassGovernance(string bucket) => Matches(BypassGovernanceBuckets, bucket);
    public bool HasBucketGrant => ReadBuckets.Count > 0 || WriteBuckets.Count > 0;

    private static bool Matches(IReadOnlyList<string> granted, string name)
    {
        foreach (var g in granted)
            if (g == Any || string.Equals(g, name, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>A change to apply with <see cref="Add"/> or <see cref="Remove"/>: only the names given, no operation by default.</summary>
    public static AccessGrants Change(IEnumerable<string>? readBuckets = null, IEnumerable<string>? writeBuckets = null, IEnumerable<string>? kmsKeys = null,
        IEnumerable<string>? kmsOperations = null, IEnumerable<string>? kmsAdminKeys = null, bool admin = false,
        IEnumerable<string>? bypassGovernanceBuckets = null) => new()
    {
        ReadBuckets = [.. readBuckets ?? []], WriteBuckets = [.. writeBuckets ?? []], KmsKeys = [.. kmsKeys ?? []],
        KmsOperations = [.. kmsOperations ?? []], KmsAdminKeys = [.. kmsAdminKeys ?? []], Admin = admin,
        BypassGovernanceBuckets = [.. bypassGovernanceBuckets ?? []],
    };

    /// <summary>These grants plus every name of <paramref name="more"/> (the admin grant if either holds it).</summary>
    public AccessGrants Add(AccessGrants more) => new()
    {
        ReadBuckets = Union(ReadBuckets, more.ReadBuckets),
        WriteBuckets = Union(WriteBuckets, more.WriteBuckets),
        KmsKeys = Union(KmsKeys, more.KmsKeys),
        KmsOperations = Union(KmsOperations, more.KmsOperations),
        KmsAdminKeys = Union(KmsAdminKeys, more.KmsAdminKeys),
        Admin = Admin || more.Admin,
        BypassGovernanceBuckets = Union(BypassGovernanceBuckets, more.BypassGovernanceBuckets),
    };

    /// <summary>These grants without the names listed in <paramref name="less"/> (and without the admin grant if it holds it).
    /// Removing "*" removes only the "*" entry, not names granted one by one.</summary>
    public AccessGrants Remove(AccessGrants less) => new()
    {
        ReadBuckets = Except(ReadBuckets, less.ReadBuckets),
        WriteBuckets = Except(WriteBuckets, less.WriteBuckets),
        KmsKeys = Except(KmsKeys, less.KmsKeys),
        KmsOperations = Except(KmsOperations, less.KmsOperations),
        KmsAdminKeys = Except(KmsAdminKeys, less.KmsAdminKeys),
        Admin = Admin && !less.Admin,
        BypassGovernanceBuckets = Except(BypassGovernanceBuckets, less.BypassGovernanceBuckets),
    };

    /// <summary>Problems of shape (empty names); an empty list when the grants are well formed. Names are not looked up.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Check(string field, IReadOnlyList<string> names)
        {
            if (names.Any(string.IsNullOrWhiteSpace)) problems.Add($"{field} holds an empty name; use a name or \"*\".");
        }
        Check(nameof(ReadBuckets), ReadBuckets);
        Check(nameof(WriteBuckets), WriteBuckets);
        Check(nameof(KmsKeys), KmsKeys);
        Check(nameof(KmsOperations), KmsOperations);
        Check(nameof(KmsAdminKeys), KmsAdminKeys);
        Check(nameof(BypassGovernanceBuckets), BypassGovernanceBuckets);
        return problems;
    }

    public bool Equals(AccessGrants? other) =>
        other is not null && ReadOnlyEquals(ReadBuckets, other.ReadBuckets) && ReadOnlyEquals(WriteBuckets, other.WriteBuckets)
        && ReadOnlyEquals(KmsKeys, other.KmsKeys) && ReadOnlyEquals(KmsOperations, other.KmsOperations)
        && ReadOnlyEquals(KmsAdminKeys, other.KmsAdminKeys) && Admin == other.Admin && ReadOnlyEquals(BypassGovernanceBuckets, other.BypassGovernanceBuckets);

    public override int GetHashCode() => HashCode.Combine(ReadBuckets.Count, WriteBuckets.Count, KmsKeys.Count, KmsAdminKeys.Count, Admin);

    public override string ToString() =>
        $"read [{string.Join(", ", ReadBuckets)}], write [{string.Join(", ", WriteBuckets)}], kms use [{string.Join(", ", KmsKeys)}] " +
        $"ops [{string.Join(", ", KmsOperations)}], kms admin [{string.Join(", ", KmsAdminKeys)}]{(Admin ? ", admin" : "")}" +
        (BypassGovernanceBuckets.Count > 0 ? $", bypass governance [{string.Join(", ", BypassGovernanceBuckets)}]" : "");

    private static bool ReadOnlyEquals(IReadOnlyList<string> a, IReadOnlyList<string> b) => a.SequenceEqual(b, StringComparer.Ordinal);

    private static string[] Union(IReadOnlyList<string> a, IReadOnlyList<string> b) => a.Concat(b).Distinct(StringComparer.Ordinal).ToArray();

    private static string[] Except(IReadOnlyList<string> a, IReadOnlyList<string> b) => a.Where(x => !b.Contains(x, StringComparer.Ordinal)).ToArray();
}
