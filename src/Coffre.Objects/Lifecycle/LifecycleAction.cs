namespace Coffre.Objects.Lifecycle;

/// <summary>What the lifecycle did to one version or upload, for the audit trail: the rule, the kind and the target.</summary>
public sealed record LifecycleAction(string Bucket, string RuleId, string Kind, string Name, string? VersionId)
{
    public const string Expire = "Expire", DeleteNoncurrent = "DeleteNoncurrentVersion", RemoveDeleteMarker = "RemoveExpiredDeleteMarker",
        AbortUpload = "AbortIncompleteUpload";
}
