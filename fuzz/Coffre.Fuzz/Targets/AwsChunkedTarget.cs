using System.Globalization;
using System.Text;
using Coffre.Server.Signing;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// The aws-chunked decoder in its three modes. Input: a first line "MODE DECODED-LENGTH TRAILERS" (MODE 0 signed,
/// 1 signed with trailer, 2 unsigned with trailer; DECODED-LENGTH a number or '-'; TRAILERS the comma-separated
/// x-amz-trailer names or '-'), then the body as sent. Signed chunks are checked against <see cref="SigV4Fixture"/>.
/// Every rejection is a <see cref="SigV4Exception"/>.
/// </summary>
public sealed class AwsChunkedTarget : FuzzTarget
{
    private const string SeedSignature = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    private static readonly PayloadMode[] Modes = [PayloadMode.StreamingSigned, PayloadMode.StreamingSignedTrailer, PayloadMode.StreamingUnsignedTrailer];
    private readonly Lazy<byte[]> _signingKey = new(() => SigV4Canonicalizer.DeriveSigningKey(SigV4Fixture.Secret, SigV4Fixture.Date, SigV4Fixture.Region, "s3"));
    private static string Scope => SigV4Canonicalizer.Scope(SigV4Fixture.Date, SigV4Fixture.Region, "s3");

    public override string Name => "aws-chunked";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var newline = input.IndexOf((byte)'\n');
        if (newline < 0) return;
        var control = Encoding.ASCII.GetString(input[..newline]).Split(' ');
        if (control.Length != 3 || control[0] is not ("0" or "1" or "2")) return;
        var mode = Modes[control[0][0] - '0'];
        long? decodedLength = long.TryParse(control[1], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : null;
        var trailers = control[2] == "-" ? [] : control[2].Split(',');
        var body = input[(newline + 1)..].ToArray();

        using var stream = new AwsChunkedDecodingStream(new MemoryStream(body), mode, _signingKey.Value, SigV4Fixture.Timestamp, Scope,
            SeedSignature, decodedLength, trailers);
        var buffer = new byte[1 + body.Length % 4096]; // read sizes vary with the input, to cross chunk boundaries differently
        var total = 0L;
        try
        {
            int n;
            // Both read paths: the synchronous one and the asynchronous one the S3 face uses.
            while ((n = body.Length % 2 == 0 ? stream.Read(buffer) : stream.ReadAsync(buffer).AsTask().GetAwaiter().GetResult()) > 0)
                total += n;
        }
        catch (SigV4Exception)
        {
            return;
        }
        Check(stream.IsCompleted && stream.DecodedLength == total, "EOF means every byte was decoded and verified");
        Check(decodedLength is null || decodedLength == total, "EOF means x-amz-decoded-content-length was met");
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        var data = "Hello, aws-chunked world: 0123456789abcdef"u8.ToArray();
        var crc = new[] { new KeyValuePair<string, string>("x-amz-checksum-crc32", "sOO8/Q==") };
        yield return ("signed", Seed(0, data, 16, _signingKey.Value, null));
        yield return ("signed-trailer", Seed(1, data, 10, _signingKey.Value, crc));
        yield return ("unsigned-trailer", Seed(2, data, 7, null, crc));
        yield return ("signed-empty", Seed(0, [], 16, _signingKey.Value, null));
    }

    private static byte[] Seed(int mode, byte[] data, int chunkSize, byte[]? key, IList<KeyValuePair<string, string>>? trailers)
    {
        var ms = new MemoryStream();
        var trailerNames = trailers is null ? "-" : string.Join(',', trailers.Select(t => t.Key));
        ms.Write(Encoding.ASCII.GetBytes($"{mode} {data.Length} {trailerNames}\n"));
        var previous = SeedSignature;
        void Chunk(ReadOnlySpan<byte> chunk)
        {
            var header = chunk.Length.ToString("x", CultureInfo.InvariantCulture);
            if (key is not null)
            {
                previous = SigV4Canonicalizer.Sign(key, SigV4Canonicalizer.ChunkStringToSign(SigV4Fixture.Timestamp, Scope, previous, chunk));
                header += ";chunk-signature=" + previous;
            }
            ms.Write(Encoding.ASCII.GetBytes(header + "\r\n"));
            ms.Write(chunk);
            if (chunk.Length > 0) ms.Write("\r\n"u8);
        }
        for (var i = 0; i < data.Length; i += chunkSize)
            Chunk(data.AsSpan(i, Math.Min(chunkSize, data.Length - i)));
        Chunk([]);
        if (trailers is not null)
        {
            foreach (var (n, v) in trailers) ms.Write(Encoding.ASCII.GetBytes($"{n}:{v}\r\n"));
            if (key is not null)
            {
                var signature = SigV4Canonicalizer.Sign(key, SigV4Canonicalizer.TrailerStringToSign(SigV4Fixture.Timestamp, Scope, previous,
                    SigV4Canonicalizer.CanonicalTrailers(trailers)));
                ms.Write(Encoding.ASCII.GetBytes($"x-amz-trailer-signature:{signature}\r\n"));
            }
        }
        ms.Write("\r\n"u8);
        return ms.ToArray();
    }
}
