using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Coffre.Server.Signing;

/// <summary>
/// Client-side header signing for simple requests (no query string, whole body hashed) built from the
/// same <see cref="SigV4Canonicalizer"/> the verifier uses: for tests, load generators and tooling.
/// </summary>
public static class SigV4ClientSigner
{
    /// <summary>Returns the Authorization header for a request with the given headers (name → value;
    /// host and x-amz-date must be among them) and body. Every given header is signed.</summary>
    public static string Authorization(string method, string path, IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body,
        string accessKey, string secretKey, string region, string service)
    {
        var names = headers.Keys.Select(n => n.ToLowerInvariant()).Order(StringComparer.Ordinal).ToList();
        var lookup = headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value);
        var canonicalHeaders = names.Select(n => (n, SigV4Canonicalizer.TrimAndCollapse(lookup[n]))).ToList();
        var signedHeaders = string.Join(';', names);
        var timestamp = lookup["x-amz-date"];
        var date = timestamp[..8];
        var canonical = SigV4Canonicalizer.CanonicalRequest(method, SigV4Canonicalizer.CanonicalUri(path, service == "s3"), "",
            canonicalHeaders, signedHeaders, SigV4Canonicalizer.Sha256Hex(body));
        var scope = SigV4Canonicalizer.Scope(date, region, service);
        var key = SigV4Canonicalizer.DeriveSigningKey(secretKey, date, region, service);
        try
        {
            var signature = SigV4Canonicalizer.Sign(key, SigV4Canonicalizer.StringToSign(timestamp, scope, canonical));
            return $"{SigV4Canonicalizer.Algorithm} Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString(SigV4Canonicalizer.TimestampFormat, CultureInfo.InvariantCulture);

    /// <summary>Headers and body of a signed KMS JSON request: (header name → value including Authorization).</summary>
    public static Dictionary<string, string> KmsHeaders(string host, string operation, ReadOnlySpan<byte> body,
        string accessKey, string secretKey, string region = "us-east-1", DateTimeOffset? time = null)
    {
        var headers = new Dictionary<string, string>
        {
            ["host"] = host,
            ["x-amz-date"] = Timestamp(time ?? DateTimeOffset.UtcNow),
            ["x-amz-target"] = "TrentService." + operation,
            ["content-type"] = "application/x-amz-json-1.1",
        };
        headers["Authorization"] = Authorization("POST", "/", headers, body, accessKey, secretKey, region, "kms");
        return headers;
    }

    internal static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
