namespace Coffre.Server.S3;

/// <summary>
/// Every subresource the S3 API reference documents for buckets and for objects. A request naming one is routed by
/// it, explicitly: one Coffre does not implement is answered NotImplemented, never served as another operation (a
/// PUT /bucket?cors must not create the bucket, a GET /bucket/key?acl must not return the object).
/// </summary>
public static class SubresourceRoutes
{
    /// <summary>The bucket subresources. When a request names several, the first in this order routes it.</summary>
    public static readonly IReadOnlyList<string> Bucket =
    [
        "uploads", "delete", "location", "versioning", "versions",
        "accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering", "inventory", "lifecycle", "logging",
        "metadataConfiguration", "metadataTable", "metrics", "notification", "object-lock", "ownershipControls", "policy",
        "policyStatus", "publicAccessBlock", "replication", "requestPayment", "session", "tagging", "website",
    ];

    /// <summary>The object subresources, in the same sense.</summary>
    public static readonly IReadOnlyList<string> Object =
    [
        "uploadId", "uploads", "tagging",
        "acl", "attributes", "legal-hold", "renameObject", "restore", "retention", "select", "torrent",
    ];

    /// <summary>The first documented subresource of <paramref name="names"/> the request's query names, or null.</summary>
    public static string? Find(S3Call call, IReadOnlyList<string> names) => names.FirstOrDefault(call.HasQuery);

    public static S3Exception NotImplemented(string subresource, bool bucket) =>
        new(S3Error.NotImplemented, $"Coffre does not implement the {(bucket ? "bucket" : "object")} subresource '{subresource}' for this method.");
}
