using System.Globalization;
using System.Text;
using Coffre.Server.Signing;
using Microsoft.Extensions.Time.Testing;

namespace Coffre.Server.Tests.Signing;

/// <summary>A tiny client-side signer for tests, written against the documented algorithm.</summary>
internal static class TestSigner
{
    public const string DocAccessKey = "AKIAIOSFODNN7EXAMPLE";
    public const string DocSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    public static readonly DateTimeOffset DocTime = new(2013, 5, 24, 0, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock(DateTimeOffset now) => new(now);

    public static SigV4Verifier DocVerifier(DateTimeOffset? now = null)
        => new(new StaticCredentialStore(DocAccessKey, DocSecret), Clock(now ?? DocTime));

    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Builds a header-signed request. <paramref name="canonicalQuery"/> is what the client signs (null = canonicalise the raw query).
    /// All given headers plus host/x-amz-date are signed unless listed in <paramref name="unsigned"/>.
    /// </summary>
    public static SigV4Request Sign(string method, string rawPath, string rawQuery, IEnumerable<(string Name, string Value)> headers,
        string? contentSha256, DateTimeOffset time, string service = "s3", string region = "us-east-1",
        string accessKey = DocAccessKey, string secret = DocSecret, string host = "examplebucket.s3.amazonaws.com",
        string? payloadHashOverride = null, string[]? unsigned = null)
    {
        var h = new SigV4Headers();
        h.Add("Host", host);
        h.Add("X-Amz-Date", Timestamp(time));
        if (contentSha256 is not null)
            h.Add("x-amz-content-sha256", contentSha256);
        foreach (var (n, v) in headers)
            h.Add(n, v);
        var signed = h.Names.Select(n => n.ToLowerInvariant()).Where(n => unsigned is null || !unsigned.Contains(n)).Distinct().Order(StringComparer.Ordinal).ToList();
        var canonicalHeaders = signed.Select(n => (n, n == "host" ? host : SigV4Canonicalizer.CanonicalHeaderValue(h.TryGetValues(n, out var vs) ? vs : []))).ToList();
        var date = Timestamp(time)[..8];
        var cr = SigV4Canonicalizer.CanonicalRequest(method, SigV4Canonicalizer.CanonicalUri(rawPath, service == "s3"),
            SigV4Canonicalizer.CanonicalQuery(rawQuery), canonicalHeaders, string.Join(';', signed),
            payloadHashOverride ?? contentSha256 ?? SigV4Canonicalizer.EmptyPayloadSha256);
        var scope = SigV4Canonicalizer.Scope(date, region, service);
        var sts = SigV4Canonicalizer.StringToSign(Timestamp(time), scope, cr);
        var sig = SigV4Canonicalizer.Sign(SigV4Canonicalizer.DeriveSigningKey(secret, date, region, service), sts);
        h.Add("Authorization", $"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={string.Join(';', signed)}, Signature={sig}");
        return new SigV4Request(method, rawPath, rawQuery, h);
    }

    /// <summary>Builds a presigned GET query (host signed only).</summary>
    public static string Presign(string method, string rawPath, DateTimeOffset time, int expires, string host = "examplebucket.s3.amazonaws.com",
        string accessKey = DocAccessKey, string secret = DocSecret, string region = "us-east-1", string extraQuery = "")
    {
        var date = Timestamp(time)[..8];
        var scope = SigV4Canonicalizer.Scope(date, region, "s3");
        var q = $"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={Uri.EscapeDataString(accessKey + "/" + scope)}&X-Amz-Date={Timestamp(time)}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host";
        if (extraQuery.Length > 0)
            q += "&" + extraQuery;
        var cr = SigV4Canonicalizer.CanonicalRequest(method, SigV4Canonicalizer.CanonicalUri(rawPath, true), SigV4Canonicalizer.CanonicalQuery(q),
            [("host", host)], "host", "UNSIGNED-PAYLOAD");
        var sig = SigV4Canonicalizer.Sign(SigV4Canonicalizer.DeriveSigningKey(secret, date, region, "s3"),
            SigV4Canonicalizer.StringToSign(Timestamp(time), scope, cr));
        return q + "&X-Amz-Signature=" + sig;
    }

    /// <summary>Encodes data as an aws-chunked body (signed chunks when key is given), with optional trailers.</summary>
    public static byte[] ChunkedBody(byte[] data, int chunkSize, byte[]? key, string timestamp, string scope, string seed,
        IList<KeyValuePair<string, string>>? trailers = null)
    {
        var ms = new MemoryStream();
        var prev = seed;
        void Chunk(ReadOnlySpan<byte> chunk)
        {
            var header = chunk.Length.ToString("x", CultureInfo.InvariantCulture);
            if (key is not null)
            {
                prev = SigV4Canonicalizer.Sign(key, SigV4Canonicalizer.ChunkStringToSign(timestamp, scope, prev, chunk));
                header += ";chunk-signature=" + prev;
            }
            ms.Write(Encoding.ASCII.GetBytes(header + "\r\n"));
            ms.Write(chunk);
            if (chunk.Length > 0)
                ms.Write("\r\n"u8);
        }
        for (var i = 0; i < data.Length; i += chunkSize)
            Chunk(data.AsSpan(i, Math.Min(chunkSize, data.Length - i)));
        Chunk([]);
        if (trailers is not null)
        {
            foreach (var (n, v) in trailers)
                ms.Write(Encoding.ASCII.GetBytes($"{n}:{v}\r\n"));
            if (key is not null)
            {
                var sig = SigV4Canonicalizer.Sign(key, SigV4Canonicalizer.TrailerStringToSign(timestamp, scope, prev, SigV4Canonicalizer.CanonicalTrailers(trailers)));
                ms.Write(Encoding.ASCII.GetBytes($"x-amz-trailer-signature:{sig}\r\n"));
            }
        }
        ms.Write("\r\n"u8);
        return ms.ToArray();
    }

    public static byte[] ReadAll(Stream s, int readSize = 8192)
    {
        var ms = new MemoryStream();
        var buf = new byte[readSize];
        int n;
        while ((n = s.Read(buf, 0, buf.Length)) > 0)
            ms.Write(buf, 0, n);
        return ms.ToArray();
    }

    public static async Task<byte[]> ReadAllAsync(Stream s, int readSize = 8192)
    {
        var ms = new MemoryStream();
        var buf = new byte[readSize];
        int n;
        while ((n = await s.ReadAsync(buf)) > 0)
            ms.Write(buf, 0, n);
        return ms.ToArray();
    }
}

/// <summary>Returns at most <c>max</c> bytes per read, to exercise buffer boundaries.</summary>
internal sealed class TrickleStream(byte[] data, int max) : Stream
{
    private int _pos;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => data.Length;
    public override long Position { get => _pos; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(Math.Min(count, max), data.Length - _pos);
        Array.Copy(data, _pos, buffer, offset, n);
        _pos += n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
