using System.Globalization;
using Coffre.Objects.Integrity;
using Coffre.Objects.Lock;

namespace Coffre.Server.S3;

/// <summary>
/// S3 Object Lock: Get/PutObjectLockConfiguration, Get/PutObjectRetention, Get/PutObjectLegalHold, the
/// x-amz-object-lock-* headers of PUT, copy and CreateMultipartUpload and of GET/HEAD's answer, and the governance bypass.
/// </summary>
public static class ObjectLockOperations
{
    private const int MaxBytes = 16 * 1024;
    private const int MaxElements = 16;
    public const string ModeHeader = "x-amz-object-lock-mode", RetainUntilHeader = "x-amz-object-lock-retain-until-date",
        LegalHoldHeader = "x-amz-object-lock-legal-hold", BypassHeader = "x-amz-bypass-governance-retention";

    public static async Task GetConfigurationAsync(S3Call call)
    {
        var configuration = await call.Store.GetObjectLockConfigurationAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false)
            ?? throw new S3Exception(S3Error.ObjectLockConfigurationNotFound);
        await BucketOperations.WriteXml(call, "ObjectLockConfiguration", w =>
        {
            w.WriteElementString("ObjectLockEnabled", "Enabled");
            if (configuration.DefaultMode is { } mode)
            {
                w.WriteStartElement("Rule");
                w.WriteStartElement("DefaultRetention");
                w.WriteElementString("Mode", VersionLocks.ModeName(mode));
                if (configuration.DefaultDays is { } d) w.WriteElementString("Days", d.ToString(CultureInfo.InvariantCulture));
                if (configuration.DefaultYears is { } y) w.WriteElementString("Years", y.ToString(CultureInfo.InvariantCulture));
                w.WriteEndElement();
                w.WriteEndElement();
            }
        }).ConfigureAwait(false);
    }

    public static async Task PutConfigurationAsync(S3Call call)
    {
        var xml = await ReadXmlAsync(call, "ObjectLockConfiguration").ConfigureAwait(false);
        if (xml.ChildValue("ObjectLockEnabled") != "Enabled")
            throw new S3Exception(S3Error.MalformedXml, "ObjectLockEnabled must be Enabled: Object Lock cannot be turned off.");
        var configuration = new BucketObjectLock();
        if (xml.Children("Rule").FirstOrDefault() is { } rule)
        {
            var retention = rule.Children("DefaultRetention").FirstOrDefault() ?? throw new S3Exception(S3Error.MalformedXml);
            var mode = VersionLocks.ParseMode(retention.ChildValue("Mode")) ?? throw new S3Exception(S3Error.MalformedXml, "The default retention's Mode must be GOVERNANCE or COMPLIANCE.");
            var days = PositiveOrNull(retention.ChildValue("Days"));
            var years = PositiveOrNull(retention.ChildValue("Years"));
            if ((days is null) == (years is null))
                throw new S3Exception(S3Error.MalformedXml, "The default retention needs either Days or Years, not both.");
            configuration = new BucketObjectLock(mode, days, years);
        }
        if (call.Header("x-amz-bucket-object-lock-token") is not null)
            throw new S3Exception(S3Error.NotImplemented, "Coffre does not use Object Lock tokens (replication): send the request without x-amz-bucket-object-lock-token.");
        await call.Store.PutObjectLockConfigurationAsync(call.RequireBucket(), configuration, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task GetRetentionAsync(S3Call call)
    {
        var (_, found) = await call.Store.GetVersionLockAsync(call.RequireBucket(), call.RequireKey(), call.Query("versionId"), call.Aborted).ConfigureAwait(false);
        if (found.Mode is not { } mode) throw new S3Exception(S3Error.NoSuchObjectLockConfiguration);
        await BucketOperations.WriteXml(call, "Retention", w =>
        {
            w.WriteElementString("Mode", VersionLocks.ModeName(mode));
            w.WriteElementString("RetainUntilDate", S3Xml.Timestamp(found.RetainUntil!.Value));
        }).ConfigureAwait(false);
    }

    public static async Task PutRetentionAsync(S3Call call)
    {
        var xml = await ReadXmlAsync(call, "Retention").ConfigureAwait(false);
        var modeText = xml.ChildValue("Mode");
        var mode = modeText is null ? (ObjectLockMode?)null : VersionLocks.ParseMode(modeText) ?? throw new S3Exception(S3Error.MalformedXml, "The retention Mode must be GOVERNANCE or COMPLIANCE.");
        var until = xml.ChildValue("RetainUntilDate") is { } text ? ParseDate(text, S3Error.MalformedXml) : (DateTimeOffset?)null;
        var bucket = call.RequireBucket();
        await call.Store.PutRetentionAsync(bucket, call.RequireKey(), call.Query("versionId"), mode, until, BypassGovernance(call, bucket), call.Principal, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task GetLegalHoldAsync(S3Call call)
    {
        var (_, found) = await call.Store.GetVersionLockAsync(call.RequireBucket(), call.RequireKey(), call.Query("versionId"), call.Aborted).ConfigureAwait(false);
        await BucketOperations.WriteXml(call, "LegalHold", w => w.WriteElementString("Status", found.LegalHold ? "ON" : "OFF")).ConfigureAwait(false);
    }

    public static async Task PutLegalHoldAsync(S3Call call)
    {
        var xml = await ReadXmlAsync(call, "LegalHold").ConfigureAwait(false);
        var on = xml.ChildValue("Status") switch
        {
            "ON" => true,
            "OFF" => false,
            _ => throw new S3Exception(S3Error.MalformedXml, "The legal hold Status must be ON or OFF."),
        };
        await call.Store.PutLegalHoldAsync(call.RequireBucket(), call.RequireKey(), call.Query("versionId"), on, call.Principal, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    /// <summary>
    /// The lock a PUT, copy or CreateMultipartUpload asks with its x-amz-object-lock-* headers; null when it asks none.
    /// As S3 requires, a PUT that asks one must carry Content-MD5 or a checksum (<paramref name="needsIntegrity"/>).
    /// </summary>
    public static VersionLock? ReadWriteLock(S3Call call, bool needsIntegrity)
    {
        var modeText = call.Header(ModeHeader);
        var untilText = call.Header(RetainUntilHeader);
        var holdText = call.Header(LegalHoldHeader);
        if (modeText is null && untilText is null && holdText is null) return null;
        if ((modeText is null) != (untilText is null))
            throw new S3Exception(S3Error.InvalidArgument, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.");
        var mode = modeText is null ? (ObjectLockMode?)null : VersionLocks.ParseMode(modeText) ?? throw new S3Exception(S3Error.InvalidArgument, "Unknown wormMode directive.");
        var until = untilText is null ? (DateTimeOffset?)null : ParseDate(untilText, S3Error.InvalidArgument);
        var hold = holdText switch
        {
            null or "OFF" => false,
            "ON" => true,
            _ => throw new S3Exception(S3Error.InvalidArgument, "Legal Hold must be either of 'ON' or 'OFF'."),
        };
        if (needsIntegrity && call.Header("Content-MD5") is null && !HasChecksum(call))
            throw new S3Exception(S3Error.InvalidRequest, "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters.");
        return new VersionLock(mode, until, hold);
    }

    /// <summary>GET and HEAD answer a version's lock with the x-amz-object-lock-* headers (none for a version without one).
    /// One point read of the catalog per request.</summary>
    public static async Task WriteLockHeadersAsync(S3Call call, Objects.Catalog.ObjectRecord record)
    {
        if (await call.Store.LockOfAsync(record, call.Aborted).ConfigureAwait(false) is not { } found) return;
        if (found.Mode is { } mode)
        {
            call.Response.Headers[ModeHeader] = VersionLocks.ModeName(mode);
            call.Response.Headers[RetainUntilHeader] = S3Xml.Timestamp(found.RetainUntil!.Value);
        }
        call.Response.Headers[LegalHoldHeader] = found.LegalHold ? "ON" : "OFF";
    }

    /// <summary>
    /// Whether this request lifts GOVERNANCE retention: it asks (x-amz-bypass-governance-retention: true) and its access
    /// key holds the bypass grant for the bucket. Asking without the grant is refused, not silently ignored.
    /// </summary>
    public static bool BypassGovernance(S3Call call, string bucket)
    {
        if (!string.Equals(call.Header(BypassHeader), "true", StringComparison.OrdinalIgnoreCase)) return false;
        if (!call.Access.MayBypassGovernance(bucket))
            throw new S3Exception(S3Error.AccessDenied, $"x-amz-bypass-governance-retention needs the governance bypass grant on bucket '{bucket}' (coffre access-key grant --bypass-governance).");
        return true;
    }

    private static bool HasChecksum(S3Call call) =>
        ChecksumAlgorithms.All.Any(a => call.Header(a.HeaderName()) is not null) || call.Header("x-amz-trailer") is not null;

    private static async Task<System.Xml.Linq.XElement> ReadXmlAsync(S3Call call, string root)
    {
        var xml = await S3Xml.ReadAsync(call.Body, MaxBytes, MaxElements, call.Aborted).ConfigureAwait(false);
        if (xml.Name.LocalName != root) throw new S3Exception(S3Error.MalformedXml);
        return xml;
    }

    private static int? PositiveOrNull(string? text)
    {
        if (text is null) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : throw new S3Exception(S3Error.InvalidArgument, "Default retention period must be a positive integer value.");
    }

    private static DateTimeOffset ParseDate(string text, S3Error error) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
            ? d : throw new S3Exception(error, $"The retain-until date '{text}' is not an ISO 8601 date.");
}
