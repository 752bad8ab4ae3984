using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Coffre.Objects.Catalog;
using Coffre.Server.Signing;
using Coffre.Sqlite.Objects;

namespace Coffre.Server.Tests.Gateway;

/// <summary>Helpers shared by the SDK, canary, tamper and bad-input gateway tests.</summary>
internal static class SdkTestSupport
{
    public static byte[] Random(int size) => RandomNumberGenerator.GetBytes(size);

    /// <summary>Deterministic pseudo-random bytes (fast, no entropy drain for tens of MiB).</summary>
    public static byte[] Pattern(int size, int seed = 1)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static async Task<byte[]> ReadAllAsync(Stream s)
    {
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms);
        return ms.ToArray();
    }

    public static async Task<byte[]> GetBytesAsync(this IAmazonS3 s3, string bucket, string key, string? range = null)
    {
        var request = new GetObjectRequest { BucketName = bucket, Key = key };
        if (range is not null) request.ByteRange = new ByteRange(range);
        using var response = await s3.GetObjectAsync(request);
        return await ReadAllAsync(response.ResponseStream);
    }

    public static async Task PutBytesAsync(this IAmazonS3 s3, string bucket, string key, byte[] body)
    {
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(body) });
    }

    /// <summary>An SDK client with a custom configuration step (chunk encoding, retries...).</summary>
    public static AmazonS3Client Client(GatewayServer gateway, Action<AmazonS3Config>? configure = null,
        string accessKey = GatewayServer.AccessKey, string secretKey = GatewayServer.SecretKey)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = gateway.Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            UseHttp = true,
        };
        configure?.Invoke(config);
        return new AmazonS3Client(new BasicAWSCredentials(accessKey, secretKey), config);
    }

    /// <summary>A client that does not retry, so failures surface at once.</summary>
    public static AmazonS3Client NoRetryClient(GatewayServer gateway) => Client(gateway, c => c.MaxErrorRetry = 0);

    /// <summary>The gateway's own catalog (opened read-only beside the running server; SQLite WAL allows it).</summary>
    public static SqliteObjectCatalog Catalog(GatewayServer gateway) =>
        SqliteObjectCatalog.Open(Path.Combine(gateway.DataDirectory, Hosting.ObjectServices.CatalogFileName));

    // ---------------- raw signed requests ----------------

    /// <summary>
    /// Sends a SigV4-signed request with a plain (non-chunked) body, signed over its SHA-256. Header names in
    /// <paramref name="headers"/> are signed too; Content-* headers go on the content.
    /// </summary>
    public static async Task<HttpResponseMessage> SendSignedAsync(GatewayServer gateway, HttpMethod method, string pathAndQuery,
        byte[]? body = null, IEnumerable<(string Name, string Value)>? headers = null,
        string accessKey = GatewayServer.AccessKey, string secretKey = GatewayServer.SecretKey,
        string? contentSha256 = null, Func<byte[], string, string, string, byte[]>? chunkedBody = null)
    {
        var uri = new Uri(gateway.Endpoint + pathAndQuery);
        var payload = body ?? [];
        var signed = Sign(gateway, method.Method, pathAndQuery, contentSha256 ?? SigV4Canonicalizer.Sha256Hex(payload), headers, accessKey, secretKey);
        // aws-chunked: the body's chunks are signed in a chain seeded by the request signature.
        if (chunkedBody is not null) payload = chunkedBody(signed.SigningKey, signed.Timestamp, signed.Scope, signed.Signature);

        using var request = new HttpRequestMessage(method, uri);
        request.Content = new ByteArrayContent(payload);
        request.Content.Headers.ContentType = null;
        foreach (var (n, v) in signed.Headers)
        {
            if (n == "host") continue;
            if (n.StartsWith("content-", StringComparison.Ordinal))
            {
                request.Content.Headers.Remove(n);
                request.Content.Headers.TryAddWithoutValidation(n, v);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(n, v);
            }
        }
        using var http = new HttpClient();
        return await http.SendAsync(request);
    }

    /// <summary>A SigV4-signed request's headers (host, x-amz-date, x-amz-content-sha256, the given ones, then Authorization), and its signing values.</summary>
    public static (List<(string Name, string Value)> Headers, byte[] SigningKey, string Timestamp, string Scope, string Signature) Sign(
        GatewayServer gateway, string method, string pathAndQuery, string contentSha256, IEnumerable<(string Name, string Value)>? headers = null,
        string accessKey = GatewayServer.AccessKey, string secretKey = GatewayServer.SecretKey)
    {
        var uri = new Uri(gateway.Endpoint + pathAndQuery);
        var timestamp = DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = timestamp[..8];
        var all = new List<(string Name, string Value)>
        {
            ("host", uri.Authority), ("x-amz-date", timestamp), ("x-amz-content-sha256", contentSha256),
        };
        foreach (var (n, v) in headers ?? []) all.Add((n.ToLowerInvariant(), v));
        var ordered = all.OrderBy(h => h.Name, StringComparer.Ordinal).ToList();
        var signedHeaders = string.Join(';', ordered.Select(h => h.Name));
        var canonical = SigV4Canonicalizer.CanonicalRequest(method, SigV4Canonicalizer.CanonicalUri(uri.AbsolutePath, true),
            SigV4Canonicalizer.CanonicalQuery(uri.Query.TrimStart('?')), ordered.Select(h => (h.Name, SigV4Canonicalizer.TrimAndCollapse(h.Value))).ToList(),
            signedHeaders, contentSha256);
        var scope = SigV4Canonicalizer.Scope(date, "us-east-1", "s3");
        var signingKey = SigV4Canonicalizer.DeriveSigningKey(secretKey, date, "us-east-1", "s3");
        var signature = SigV4Canonicalizer.Sign(signingKey, SigV4Canonicalizer.StringToSign(timestamp, scope, canonical));
        all.Add(("Authorization", $"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}"));
        return (all, signingKey, timestamp, scope, signature);
    }

    /// <summary>The S3 error code in an XML error body ("" when none).</summary>
    public static async Task<string> ErrorCodeAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (text.Length == 0) return "";
        try
        {
            return System.Xml.Linq.XElement.Parse(text).Elements().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value ?? "";
        }
        catch (System.Xml.XmlException)
        {
            return "";
        }
    }

    // ---------------- backend files ----------------

    /// <summary>Every file under a directory, recursively.</summary>
    public static IEnumerable<string> AllFiles(string directory) =>
        Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories) : [];

    /// <summary>The on-disk body and metadata record of a local-disk blob.</summary>
    public sealed record LocalBlobFiles(string MetaPath, string DataPath);

    public static LocalBlobFiles LocalDiskBlob(GatewayServer gateway, string blobKey)
    {
        // Temporary files (".tmp-…") are records another write is still producing; a record may also be
        // renamed away between the listing and the read. Neither is the blob asked for.
        foreach (var meta in AllFiles(gateway.BackendDirectory!).Where(f =>
                     f.EndsWith(".m", StringComparison.Ordinal) && !Path.GetFileName(f).StartsWith(".tmp-", StringComparison.Ordinal)))
        {
            string text;
            try { text = File.ReadAllText(meta); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var json = JsonNode.Parse(text)!;
            if ((string?)json["key"] != blobKey) continue;
            var generation = (string)json["generation"]!;
            var stem = meta[..^2];
            return new LocalBlobFiles(meta, $"{stem}.{generation}.d");
        }
        throw new FileNotFoundException($"No local-disk blob {blobKey} under {gateway.BackendDirectory}");
    }

    /// <summary>Sets the length a local-disk metadata record announces (a provider truncating or extending consistently).</summary>
    public static void SetLocalDiskLength(LocalBlobFiles blob, long length)
    {
        var json = JsonNode.Parse(File.ReadAllText(blob.MetaPath))!;
        json["length"] = length;
        File.WriteAllText(blob.MetaPath, json.ToJsonString());
    }

    /// <summary>The s3rver file holding a blob's body.</summary>
    public static string S3rverBlobFile(string dataDirectory, string blobKey)
    {
        var id = blobKey.Split('/')[^1];
        // The file of the blob itself, not of its ".key" sidecar or ".manifest" beside it.
        return AllFiles(dataDirectory).Single(f => Path.GetFileName(f) == id + "._S3rver_object");
    }

    public static async Task<IReadOnlyList<StoredPart>> PartsAsync(GatewayServer gateway, string bucket, string key)
    {
        await using var catalog = Catalog(gateway);
        return (await catalog.GetObjectAsync(bucket, key))!.Parts;
    }

    public static string Utf8(this byte[] b) => Encoding.UTF8.GetString(b);

    /// <summary>An object key as a request path, the way S3 clients send it (each segment URI-encoded, '/' kept).</summary>
    public static string EncodeKeyPath(string key) => string.Join('/', key.Split('/').Select(s => SigV4Canonicalizer.UriEncode(s, encodeSlash: true)));
}
