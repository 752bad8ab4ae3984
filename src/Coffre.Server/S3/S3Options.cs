namespace Coffre.Server.S3;

/// <summary>The "Coffre:S3" configuration section: the S3 face's own settings.</summary>
public sealed class S3Options
{
    /// <summary>
    /// The operator's public access block over every bucket (all four S3 flags on, whatever a bucket's own configuration
    /// says): anonymous access is something the operator turns on (false), not a bucket owner alone. On by default.
    /// </summary>
    public bool BlockPublicAccess { get; set; } = true;
}
