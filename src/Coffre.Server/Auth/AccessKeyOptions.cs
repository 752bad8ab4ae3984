namespace Coffre.Server.Auth;

/// <summary>
/// One access key from configuration (Coffre:AccessKeys:N:...): its secret, and what it may use.
/// "*" means everything. Least privilege: an application key lists its buckets, its KMS keys and
/// its KMS operations.
/// </summary>
public sealed class AccessKeyOptions
{
    public string AccessKeyId { get; set; } = "";
    public string SecretAccessKey { get; set; } = "";
    public List<string> Buckets { get; set; } = ["*"];
    public List<string> KmsKeys { get; set; } = ["*"];
    public List<string> KmsOperations { get; set; } = ["*"];

    public bool MayUseBucket(string bucket) => Buckets.Contains("*") || Buckets.Contains(bucket, StringComparer.Ordinal);
}
