using System.Globalization;
using System.Text;
using Coffre.Server.S3;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// S3 XML request bodies (DeleteObjects, CompleteMultipartUpload): read with the S3 face's bounded reader, then
/// walked the way those operations walk them. Every rejection is an <see cref="S3Exception"/> (MalformedXML).
/// </summary>
public sealed class S3XmlTarget : FuzzTarget
{
    private const int MaxBytes = 2 * 1024 * 1024; // the limit both operations pass
    private const int MaxElements = 80_001; // CompleteMultipartUpload's, the larger of the two (DeleteObjects: 6,002)

    public override string Name => "s3-xml";

    public override void Run(ReadOnlySpan<byte> input)
    {
        try
        {
            var xml = S3Xml.ReadAsync(new MemoryStream(input.ToArray()), MaxBytes, MaxElements, CancellationToken.None).GetAwaiter().GetResult();
            _ = xml.ChildValue("Quiet");
            foreach (var o in xml.Children("Object"))
                _ = (o.ChildValue("Key"), o.ChildValue("VersionId"));
            foreach (var p in xml.Children("Part"))
                _ = (int.TryParse(p.ChildValue("PartNumber"), NumberStyles.None, CultureInfo.InvariantCulture, out _), p.ChildValue("ETag"),
                    p.ChildValue("ChecksumCRC32"));
        }
        catch (S3Exception)
        {
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        // As AWSSDK.S3 v4 and botocore write them.
        yield return ("delete-objects", Encoding.UTF8.GetBytes(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>a.txt</Key></Object>" +
            "<Object><Key>dir/b &amp; c.txt</Key><VersionId>null</VersionId></Object><Quiet>true</Quiet></Delete>"));
        yield return ("complete-multipart", Encoding.UTF8.GetBytes(
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ETag>\"0123456789abcdef0123456789abcdef\"</ETag>" +
            "<PartNumber>1</PartNumber></Part><Part><ChecksumCRC32>sOO8/Q==</ChecksumCRC32><ETag>\"fedcba9876543210fedcba9876543210\"</ETag>" +
            "<PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"));
    }
}
