using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Coffre.Storage;

/// <summary>Configuration of an <see cref="S3BlobStore"/> (bind it from configuration, then call <see cref="Validate"/>).</summary>
public sealed partial class S3BlobStoreOptions
{
    public const long MinPartSize = 5L * 1024 * 1024;
    public const long MaxPartSize = 512L * 1024 * 1024; // our in-memory part buffer; S3 itself allows 5 GiB
    public const long DefaultPartSize = 16L * 1024 * 1024;

    /// <summary>Diagnostic name of the backend (e.g. "ovh-gra-1").</summary>
    public string Name { get; set; } = "s3";

    /// <summary>Service URL, e.g. https://s3.gra.io.cloud.ovh.net, https://s3.fr-par.scw.cloud, http://127.0.0.1:9000.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Signing region (e.g. "us-east-1", "gra", "fr-par", "eu-west-2", "garage").</summary>
    public string Region { get; set; } = "us-east-1";

    public string? Bucket { get; set; }

    /// <summary>Optional prefix put before every blob key in the bucket, e.g. "coffre/". Must end with "/" when set.</summary>
    public string KeyPrefix { get; set; } = "";

    /// <summary>Path-style addressing (http://host/bucket/key). Needed by MinIO, Ceph RGW, Garage and most self-hosted servers.</summary>
    public bool ForcePathStyle { get; set; }

    public string? AccessKeyId { get; set; }
    public string? SecretAccessKey { get; set; }
    public string? SessionToken { get; set; }

    /// <summary>
    /// Bodies up to this size (plus 1/64, room for the encryption's framing) go in one PutObject; larger or
    /// unknown-length bodies use multipart upload with parts of that size, the size of each part buffer.
    /// </summary>
    public long PartSize { get; set; } = DefaultPartSize;

    /// <summary>
    /// How many part buffers (<see cref="PartSize"/> plus 1/64 for the encryption's framing) uploads to this backend may
    /// hold at once: the bound of their memory. An upload beyond it waits for a buffer, at most
    /// <see cref="RequestTimeout"/>, then fails as unavailable (503, which clients retry). Bodies of 1 MiB or less need none.
    /// </summary>
    public int PartBuffers { get; set; } = DefaultPartBuffers;

    public const int DefaultPartBuffers = 4;

    /// <summary>Plain http:// to a host that is not loopback must be allowed explicitly (credentials stay secret under SigV4, but request metadata does not).</summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>Timeout of one HTTP attempt (the SDK's own); <see cref="RequestTimeout"/> bounds all attempts together.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The deadline of one backend call, its retries included (until the response headers of a GET; a PUT's one
    /// request, or each part's): past it the call fails as <see cref="BlobStoreError.Unavailable"/>. Without it a frozen
    /// backend held a request for the SDK's attempts and back-off on top of each <see cref="Timeout"/> (151 s with 30 s).
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Every problem found, one precise message each; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name)) errors.Add("Name: must not be empty.");
        if (string.IsNullOrWhiteSpace(Endpoint))
        {
            errors.Add("Endpoint: required (e.g. https://s3.gra.io.cloud.ovh.net or http://127.0.0.1:9000).");
        }
        else if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"Endpoint: '{Endpoint}' is not an absolute http:// or https:// URL.");
        }
        else
        {
            if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
                errors.Add($"Endpoint: '{Endpoint}' must not contain a query, fragment or user info.");
            if (uri.AbsolutePath != "/")
                errors.Add($"Endpoint: '{Endpoint}' must not have a path; put the bucket in Bucket and any folder in KeyPrefix.");
            if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback && !AllowInsecureHttp)
                errors.Add($"Endpoint: '{Endpoint}' is plain http to a non-loopback host; use https or set AllowInsecureHttp.");
        }
        if (string.IsNullOrWhiteSpace(Region) || !RegionRegex().IsMatch(Region))
            errors.Add($"Region: '{Region}' is not a region name (letters, digits, '-', '_').");
        if (string.IsNullOrWhiteSpace(Bucket))
            errors.Add("Bucket: required.");
        else if (Bucket.Length is < 3 or > 63 || !BucketRegex().IsMatch(Bucket) || Bucket.Contains("..") || IPAddress.TryParse(Bucket, out _))
            errors.Add($"Bucket: '{Bucket}' is not a valid bucket name (3-63 chars of a-z, 0-9, '.', '-', starting and ending with a letter or digit).");
        if (KeyPrefix is null)
            errors.Add("KeyPrefix: must not be null (use \"\").");
        else if (KeyPrefix.Length > 0)
        {
            if (!KeyPrefix.EndsWith('/')) errors.Add($"KeyPrefix: '{KeyPrefix}' must end with '/'.");
            if (KeyPrefix.StartsWith('/')) errors.Add($"KeyPrefix: '{KeyPrefix}' must not start with '/'.");
            if (KeyPrefix.Contains("//") || KeyPrefix.Split('/').Any(s => s is "." or ".."))
                errors.Add($"KeyPrefix: '{KeyPrefix}' must not contain empty, '.' or '..' segments.");
            if (KeyPrefix.Any(c => c < 0x21 || c > 0x7E || c is '%' or '+' or '\\' or '?' or '#'))
                errors.Add($"KeyPrefix: '{KeyPrefix}' may only contain printable ASCII without space, '%', '+', '\\', '?', '#'.");
            else if (Encoding.UTF8.GetByteCount(KeyPrefix) > 256)
                errors.Add("KeyPrefix: longer than 256 bytes.");
        }
        if (string.IsNullOrWhiteSpace(AccessKeyId)) errors.Add("AccessKeyId: required.");
        if (string.IsNullOrEmpty(SecretAccessKey)) errors.Add("SecretAccessKey: required.");
        if (PartSize is < MinPartSize or > MaxPartSize)
            errors.Add($"PartSize: {PartSize} is outside [{MinPartSize}, {MaxPartSize}] bytes.");
        if (PartBuffers is < 1 or > 1024) errors.Add($"PartBuffers: {PartBuffers} is outside [1, 1024].");
        if (Timeout <= TimeSpan.Zero) errors.Add("Timeout: must be positive.");
        if (RequestTimeout <= TimeSpan.Zero) errors.Add("RequestTimeout: must be positive.");
        return errors;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> listing every problem.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
            throw new ArgumentException($"Invalid S3 backend configuration '{Name}':{Environment.NewLine}  - " +
                string.Join(Environment.NewLine + "  - ", errors));
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex RegionRegex();

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$")]
    private static partial Regex BucketRegex();
}
