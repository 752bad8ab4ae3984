using System.Globalization;
using System.Xml.Linq;
using Coffre.Objects.Lifecycle;

namespace Coffre.Server.S3;

/// <summary>
/// PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration, DeleteBucketLifecycle, with S3's validation. The
/// rules are executed by the maintenance service (<see cref="Objects.ObjectStore.RunLifecycleAsync"/>).
/// </summary>
public static class LifecycleOperations
{
    private const int MaxBytes = 1024 * 1024;
    private const int MaxElements = LifecycleConfiguration.MaxRules * 40;

    public static async Task PutAsync(S3Call call)
    {
        var bucket = call.RequireBucket();
        var (algorithm, verify) = S3Integrity.FromRequest(call);
        using var digests = new Objects.Integrity.PlaintextDigests(algorithm);
        await using var digesting = new Objects.Streams.ObservedReadStream(call.Body, digests.Append, leaveOpen: true);
        var xml = await S3Xml.ReadAsync(digesting, MaxBytes, MaxElements, call.Aborted).ConfigureAwait(false);
        if (verify(digests) is { } failure) throw S3ErrorMap.From(failure);
        await call.Store.PutLifecycleAsync(bucket, Parse(xml), call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 200;
    }

    public static async Task GetAsync(S3Call call)
    {
        var configuration = await call.Store.GetLifecycleAsync(call.RequireBucket(), call.Aborted).ConfigureAwait(false)
            ?? throw new S3Exception(S3Error.NoSuchLifecycleConfiguration);
        await BucketOperations.WriteXml(call, "LifecycleConfiguration", w =>
        {
            foreach (var rule in configuration.Rules)
            {
                w.WriteStartElement("Rule");
                w.WriteElementString("ID", rule.Id);
                WriteFilter(w, rule.Filter);
                w.WriteElementString("Status", rule.Enabled ? "Enabled" : "Disabled");
                if (rule.ExpirationDays is not null || rule.ExpirationDate is not null || rule.ExpiredObjectDeleteMarker)
                {
                    w.WriteStartElement("Expiration");
                    if (rule.ExpirationDays is { } d) w.WriteElementString("Days", Text(d));
                    if (rule.ExpirationDate is { } date) w.WriteElementString("Date", S3Xml.Timestamp(date));
                    if (rule.ExpiredObjectDeleteMarker) w.WriteElementString("ExpiredObjectDeleteMarker", "true");
                    w.WriteEndElement();
                }
                if (rule.NoncurrentDays is { } nd)
                {
                    w.WriteStartElement("NoncurrentVersionExpiration");
                    w.WriteElementString("NoncurrentDays", Text(nd));
                    if (rule.NewerNoncurrentVersions is { } n) w.WriteElementString("NewerNoncurrentVersions", Text(n));
                    w.WriteEndElement();
                }
                if (rule.AbortIncompleteUploadDays is { } ad)
                {
                    w.WriteStartElement("AbortIncompleteMultipartUpload");
                    w.WriteElementString("DaysAfterInitiation", Text(ad));
                    w.WriteEndElement();
                }
                w.WriteEndElement();
            }
        }).ConfigureAwait(false);
    }

    public static async Task DeleteAsync(S3Call call)
    {
        await call.Store.PutLifecycleAsync(call.RequireBucket(), null, call.Aborted).ConfigureAwait(false);
        call.Response.StatusCode = 204;
    }

    /// <summary>A LifecycleConfiguration document, validated as S3 validates it (MalformedXML for shape, InvalidArgument for values).</summary>
    public static LifecycleConfiguration Parse(XElement xml)
    {
        if (xml.Name.LocalName != "LifecycleConfiguration") throw new S3Exception(S3Error.MalformedXml);
        var rules = xml.Children("Rule").Select(ParseRule).ToList();
        if (rules.Count is 0 or > LifecycleConfiguration.MaxRules) throw new S3Exception(S3Error.MalformedXml, $"A lifecycle configuration holds 1 to {LifecycleConfiguration.MaxRules} rules.");
        if (rules.GroupBy(r => r.Id).Any(g => g.Count() > 1))
            throw new S3Exception(S3Error.InvalidArgument, "Rule ID must be unique. Found same ID for more than one rule");
        return new LifecycleConfiguration(rules);
    }

    private static LifecycleRule ParseRule(XElement rule)
    {
        var id = rule.ChildValue("ID") is { Length: > 0 } given ? given : Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        if (id.Length > 255) throw new S3Exception(S3Error.InvalidArgument, "ID length should not exceed allowed limit of 255");
        var enabled = rule.ChildValue("Status") switch
        {
            "Enabled" => true,
            "Disabled" => false,
            _ => throw new S3Exception(S3Error.MalformedXml, "A rule's Status must be Enabled or Disabled."),
        };
        var filters = rule.Children("Filter").ToList();
        var legacyPrefix = rule.ChildValue("Prefix");
        if (filters.Count > 1 || (filters.Count == 1 && legacyPrefix is not null)) throw new S3Exception(S3Error.MalformedXml);
        var filter = filters.Count == 1 ? ParseFilter(filters[0]) : new LifecycleFilter(legacyPrefix ?? "");
        if (rule.Children("Transition").Any() || rule.Children("NoncurrentVersionTransition").Any())
            throw new S3Exception(S3Error.NotImplemented, "Coffre has no storage classes to transition to: send the rule without Transition or NoncurrentVersionTransition.");

        int? days = null, noncurrentDays = null, newer = null, abortDays = null;
        DateTimeOffset? date = null;
        var marker = false;
        if (rule.Children("Expiration").FirstOrDefault() is { } expiration)
        {
            days = Positive(expiration.ChildValue("Days"), "'Days' for Expiration action must be a positive integer");
            if (expiration.ChildValue("Date") is { } dateText)
            {
                date = DateTimeOffset.TryParse(dateText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
                    ? d : throw new S3Exception(S3Error.InvalidArgument, "Invalid date: the Date must be an ISO 8601 date at midnight GMT.");
                if (d.TimeOfDay != TimeSpan.Zero) throw new S3Exception(S3Error.InvalidArgument, "'Date' must be at midnight GMT");
            }
            marker = expiration.ChildValue("ExpiredObjectDeleteMarker") switch
            {
                null or "false" => false,
                "true" => true,
                _ => throw new S3Exception(S3Error.MalformedXml),
            };
            if ((days is null ? 0 : 1) + (date is null ? 0 : 1) + (marker ? 1 : 0) != 1)
                throw new S3Exception(S3Error.MalformedXml, "An Expiration holds exactly one of Days, Date or ExpiredObjectDeleteMarker.");
            if (marker && filter.HasTags)
                throw new S3Exception(S3Error.InvalidArgument, "ExpiredObjectDeleteMarker cannot be specified with a Tag filter.");
        }
        if (rule.Children("NoncurrentVersionExpiration").FirstOrDefault() is { } noncurrent)
        {
            noncurrentDays = Positive(noncurrent.ChildValue("NoncurrentDays"), "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
                ?? throw new S3Exception(S3Error.MalformedXml, "NoncurrentVersionExpiration needs NoncurrentDays.");
            newer = Positive(noncurrent.ChildValue("NewerNoncurrentVersions"), "'NewerNoncurrentVersions' must be a positive integer");
            if (newer > 100) throw new S3Exception(S3Error.InvalidArgument, "'NewerNoncurrentVersions' must not exceed 100");
        }
        if (rule.Children("AbortIncompleteMultipartUpload").FirstOrDefault() is { } abort)
        {
            abortDays = Positive(abort.ChildValue("DaysAfterInitiation"), "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
                ?? throw new S3Exception(S3Error.MalformedXml, "AbortIncompleteMultipartUpload needs DaysAfterInitiation.");
            if (filter.HasTags || filter.SizeGreaterThan is not null || filter.SizeLessThan is not null)
                throw new S3Exception(S3Error.InvalidArgument, "AbortIncompleteMultipartUpload cannot be specified with Tags or object size filters.");
        }
        if (days is null && date is null && !marker && noncurrentDays is null && abortDays is null)
            throw new S3Exception(S3Error.InvalidArgument, "At least one action needs to be specified in a rule");
        return new LifecycleRule(id, enabled, filter, days, date, marker, noncurrentDays, newer, abortDays);
    }

    private static LifecycleFilter ParseFilter(XElement filter)
    {
        var parts = filter.Elements().ToList();
        if (parts.Count > 1) throw new S3Exception(S3Error.MalformedXml, "A Filter holds one condition; combine several in And.");
        var and = filter.Children("And").FirstOrDefault();
        var scope = and ?? filter;
        var tags = scope.Children("Tag").Select(t => new KeyValuePair<string, string>(
            t.ChildValue("Key") ?? throw new S3Exception(S3Error.MalformedXml), t.ChildValue("Value") ?? "")).ToList();
        if (tags.GroupBy(t => t.Key).Any(g => g.Count() > 1)) throw new S3Exception(S3Error.InvalidArgument, "Duplicate Tag Keys are not allowed.");
        var greater = Size(scope.ChildValue("ObjectSizeGreaterThan"));
        var less = Size(scope.ChildValue("ObjectSizeLessThan"));
        if (greater is not null && less is not null && greater >= less)
            throw new S3Exception(S3Error.InvalidArgument, "ObjectSizeGreaterThan must be less than ObjectSizeLessThan.");
        return new LifecycleFilter(scope.ChildValue("Prefix") ?? "", tags.Count == 0 ? null : tags, greater, less);
    }

    private static void WriteFilter(System.Xml.XmlWriter w, LifecycleFilter f)
    {
        w.WriteStartElement("Filter");
        var conditions = (f.Prefix.Length > 0 ? 1 : 0) + (f.Tags?.Count ?? 0) + (f.SizeGreaterThan is null ? 0 : 1) + (f.SizeLessThan is null ? 0 : 1);
        if (conditions > 1) w.WriteStartElement("And");
        if (f.Prefix.Length > 0 || conditions == 0) w.WriteElementString("Prefix", f.Prefix);
        foreach (var (key, value) in f.Tags ?? [])
        {
            w.WriteStartElement("Tag");
            w.WriteElementString("Key", key);
            w.WriteElementString("Value", value);
            w.WriteEndElement();
        }
        if (f.SizeGreaterThan is { } g) w.WriteElementString("ObjectSizeGreaterThan", g.ToString(CultureInfo.InvariantCulture));
        if (f.SizeLessThan is { } l) w.WriteElementString("ObjectSizeLessThan", l.ToString(CultureInfo.InvariantCulture));
        if (conditions > 1) w.WriteEndElement();
        w.WriteEndElement();
    }

    private static int? Positive(string? text, string message) =>
        text is null ? null : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new S3Exception(S3Error.InvalidArgument, message);

    private static long? Size(string? text) =>
        text is null ? null : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new S3Exception(S3Error.InvalidArgument, "Object size filters must be non-negative integers.");

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
