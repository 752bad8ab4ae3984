namespace Coffre.Server.S3.Access;

/// <summary>
/// The one table from each S3 operation (the names S3Face routes to) to the IAM action a bucket policy names, and the
/// resource ARN it is evaluated on. An operation reading or changing one version (versionId given) takes S3's
/// "...Version..." action, as AWS evaluates it.
/// </summary>
public static class S3Actions
{
    private static readonly Dictionary<string, (string Action, string? VersionAction)> Table = new(StringComparer.Ordinal)
    {
        ["ListBuckets"] = ("s3:ListAllMyBuckets", null),
        ["ListMultipartUploads"] = ("s3:ListBucketMultipartUploads", null),
        ["GetBucketLocation"] = ("s3:GetBucketLocation", null),
        ["GetBucketVersioning"] = ("s3:GetBucketVersioning", null),
        ["PutBucketVersioning"] = ("s3:PutBucketVersioning", null),
        ["ListObjectVersions"] = ("s3:ListBucketVersions", null),
        ["ListObjects"] = ("s3:ListBucket", null),
        ["ListObjectsV2"] = ("s3:ListBucket", null),
        ["HeadBucket"] = ("s3:ListBucket", null),
        ["CreateBucket"] = ("s3:CreateBucket", null),
        ["DeleteBucket"] = ("s3:DeleteBucket", null),
        ["DeleteObjects"] = ("s3:DeleteObject", "s3:DeleteObjectVersion"),
        ["GetBucketEncryption"] = ("s3:GetEncryptionConfiguration", null),
        ["PutBucketEncryption"] = ("s3:PutEncryptionConfiguration", null),
        ["DeleteBucketEncryption"] = ("s3:PutEncryptionConfiguration", null),
        ["GetBucketTagging"] = ("s3:GetBucketTagging", null),
        ["PutBucketTagging"] = ("s3:PutBucketTagging", null),
        ["DeleteBucketTagging"] = ("s3:PutBucketTagging", null),
        ["GetObjectLockConfiguration"] = ("s3:GetBucketObjectLockConfiguration", null),
        ["PutObjectLockConfiguration"] = ("s3:PutBucketObjectLockConfiguration", null),
        ["GetBucketLifecycleConfiguration"] = ("s3:GetLifecycleConfiguration", null),
        ["PutBucketLifecycleConfiguration"] = ("s3:PutLifecycleConfiguration", null),
        ["DeleteBucketLifecycle"] = ("s3:PutLifecycleConfiguration", null),
        ["GetBucketAcl"] = ("s3:GetBucketAcl", null),
        ["PutBucketAcl"] = ("s3:PutBucketAcl", null),
        ["GetBucketPolicy"] = ("s3:GetBucketPolicy", null),
        ["PutBucketPolicy"] = ("s3:PutBucketPolicy", null),
        ["DeleteBucketPolicy"] = ("s3:DeleteBucketPolicy", null),
        ["GetBucketPolicyStatus"] = ("s3:GetBucketPolicyStatus", null),
        ["GetPublicAccessBlock"] = ("s3:GetBucketPublicAccessBlock", null),
        ["PutPublicAccessBlock"] = ("s3:PutBucketPublicAccessBlock", null),
        ["DeletePublicAccessBlock"] = ("s3:PutBucketPublicAccessBlock", null),
        ["GetBucketOwnershipControls"] = ("s3:GetBucketOwnershipControls", null),
        ["PutBucketOwnershipControls"] = ("s3:PutBucketOwnershipControls", null),
        ["DeleteBucketOwnershipControls"] = ("s3:PutBucketOwnershipControls", null),
        ["ListParts"] = ("s3:ListMultipartUploadParts", null),
        ["GetObjectTagging"] = ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
        ["PutObjectTagging"] = ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
        ["DeleteObjectTagging"] = ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
        ["GetObjectAttributes"] = ("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
        ["GetObjectRetention"] = ("s3:GetObjectRetention", null),
        ["PutObjectRetention"] = ("s3:PutObjectRetention", null),
        ["GetObjectLegalHold"] = ("s3:GetObjectLegalHold", null),
        ["PutObjectLegalHold"] = ("s3:PutObjectLegalHold", null),
        ["GetObjectAcl"] = ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
        ["PutObjectAcl"] = ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        ["GetObject"] = ("s3:GetObject", "s3:GetObjectVersion"),
        ["HeadObject"] = ("s3:GetObject", "s3:GetObjectVersion"),
        ["PutObject"] = ("s3:PutObject", null),
        ["CopyObject"] = ("s3:PutObject", null),
        ["UploadPart"] = ("s3:PutObject", null),
        ["UploadPartCopy"] = ("s3:PutObject", null),
        ["CreateMultipartUpload"] = ("s3:PutObject", null),
        ["CompleteMultipartUpload"] = ("s3:PutObject", null),
        ["AbortMultipartUpload"] = ("s3:AbortMultipartUpload", null),
        ["DeleteObject"] = ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    };

    /// <summary>S3 actions a policy may name although no Coffre operation maps to them (accepted, never matched).</summary>
    private static readonly string[] Unserved =
    [
        "s3:BypassGovernanceRetention", "s3:GetBucketCORS", "s3:PutBucketCORS", "s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite",
        "s3:GetBucketLogging", "s3:PutBucketLogging", "s3:GetBucketNotification", "s3:PutBucketNotification", "s3:GetReplicationConfiguration",
        "s3:PutReplicationConfiguration", "s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:RestoreObject", "s3:GetObjectTorrent",
        "s3:GetObjectVersionTorrent", "s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment", "s3:GetAccelerateConfiguration",
        "s3:PutAccelerateConfiguration", "s3:GetObjectVersionForReplication", "s3:ListBucketByTags",
    ];

    private static readonly HashSet<string> Known = new(
        Table.Values.Select(v => v.Action).Concat(Table.Values.Select(v => v.VersionAction).OfType<string>()).Concat(Unserved),
        StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="action"/> names an S3 action (case-insensitive, as IAM compares them).</summary>
    public static bool IsAction(string action) => Known.Contains(action);

    /// <summary>The action an operation is evaluated as; with a version id, its version action when it has one.</summary>
    public static string Of(string operation, bool versioned)
    {
        var (action, versionAction) = Table.TryGetValue(operation, out var entry) ? entry
            : throw new InvalidOperationException($"The S3 operation '{operation}' has no entry in the policy action table (S3Actions).");
        return versioned ? versionAction ?? action : action;
    }

    /// <summary>The resource ARN: the bucket's for bucket operations, the object's for object operations.</summary>
    public static string Resource(string bucket, string? key) => key is null ? $"arn:aws:s3:::{bucket}" : $"arn:aws:s3:::{bucket}/{key}";
}
