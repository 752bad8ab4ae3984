using Coffre.Objects;
using Coffre.Objects.Integrity;
using System.Security.Cryptography;

namespace Coffre.Server.S3;

/// <summary>
/// Reads the integrity values a client sent with a body (Content-MD5, x-amz-checksum-* header or
/// trailer) and builds the check the object store runs over the plaintext digests before the
/// object becomes visible.
/// </summary>
public static class S3Integrity
{
    public static (ChecksumAlgorithm? Algorithm, Func<PlaintextDigests, ObjectStoreException?> Verify) FromRequest(S3Call call)
    {
        byte[]? md5 = null;
        if (call.Header("Content-MD5") is { } md5Header)
        {
            md5 = TryBase64(md5Header);
            if (md5 is not { Length: 16 }) throw new S3Exception(S3Error.InvalidDigest);
        }

        ChecksumAlgorithm? algorithm = null;
        string? headerValue = null;
        string? trailerName = null;
        foreach (var a in ChecksumAlgorithms.All)
        {
            if (call.Header(a.HeaderName()) is { } v)
            {
                algorithm = a;
                headerValue = v;
                if (TryBase64(v) is not { } raw || raw.Length != a.DigestSize())
                    throw new S3Exception(S3Error.InvalidDigest, $"Value for {a.HeaderName()} header is invalid.");
            }
        }
        if (call.Header("x-amz-trailer") is { } trailer)
        {
            foreach (var a in ChecksumAlgorithms.All)
                if (trailer.Trim().Equals(a.HeaderName(), StringComparison.OrdinalIgnoreCase))
                {
                    algorithm = a;
                    trailerName = a.HeaderName();
                }
        }
        if (algorithm is null && ChecksumAlgorithms.TryParse(call.Header("x-amz-sdk-checksum-algorithm"), out var sdk))
            algorithm = sdk;

        ObjectStoreException? Verify(PlaintextDigests digests)
        {
            if (md5 is not null && !CryptographicOperations.FixedTimeEquals(md5, digests.Md5()))
                return new ObjectStoreException(ObjectError.BadDigest, "The Content-MD5 you specified did not match what we received.");
            var expected = headerValue;
            if (trailerName is not null)
            {
                var trailers = call.Trailers();
                expected = trailers.FirstOrDefault(t => t.Key.Equals(trailerName, StringComparison.OrdinalIgnoreCase)).Value;
                if (expected is null)
                    return new ObjectStoreException(ObjectError.InvalidDigest, $"The trailer {trailerName} announced in x-amz-trailer was not sent.");
            }
            if (expected is not null && digests.Checksum() is { } actual && !string.Equals(expected.Trim(), actual, StringComparison.Ordinal))
                return new ObjectStoreException(ObjectError.BadDigest, $"The {digests.Algorithm!.Value.S3Name()} you specified did not match the calculated checksum.");
            return null;
        }

        return (algorithm, Verify);
    }

    private static byte[]? TryBase64(string value)
    {
        try
        {
            return Convert.FromBase64String(value.Trim());
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A configuration request's XML body, checked against its Content-MD5 or checksum before it is used.</summary>
    public static async Task<System.Xml.Linq.XElement> ReadVerifiedXmlAsync(S3Call call, int maxBytes, int maxElements)
    {
        var (algorithm, verify) = FromRequest(call);
        using var digests = new PlaintextDigests(algorithm);
        await using var digesting = new Objects.Streams.ObservedReadStream(call.Body, digests.Append, leaveOpen: true);
        var xml = await S3Xml.ReadAsync(digesting, maxBytes, maxElements, call.Aborted).ConfigureAwait(false);
        if (verify(digests) is { } failure) throw S3ErrorMap.From(failure);
        return xml;
    }
}
