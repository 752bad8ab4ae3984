using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Coffre.Server.S3;

/// <summary>S3's XML bodies: written with XmlWriter straight to the response, read with bounded size.</summary>
public static class S3Xml
{
    public const string Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";
    // CheckCharacters off: a key may hold characters XML 1.0 cannot carry (U+0001...); S3 writes them as character
    // references rather than failing the listing, and clients that care ask for encoding-type=url.
    private static readonly XmlWriterSettings Settings = new() { Encoding = new UTF8Encoding(false), Async = true, Indent = false, CheckCharacters = false };

    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Writes a document whose root element is in the S3 namespace.</summary>
    public static async Task WriteAsync(Stream output, string root, Action<XmlWriter> body, bool s3Namespace = true)
    {
        await using var buffer = new MemoryStream();
        using (var w = XmlWriter.Create(buffer, Settings))
        {
            w.WriteStartDocument();
            if (s3Namespace) w.WriteStartElement(root, Namespace); else w.WriteStartElement(root);
            body(w);
            w.WriteEndElement();
            w.WriteEndDocument();
        }
        buffer.Position = 0;
        await buffer.CopyToAsync(output).ConfigureAwait(false);
    }

    public static void Element(this XmlWriter w, string name, string? value)
    {
        if (value is not null) w.WriteElementString(name, value);
    }

    /// <summary>Parses a small XML request body (CompleteMultipartUpload, Delete); anything malformed is MalformedXML.</summary>
    public static async Task<XElement> ReadAsync(Stream body, int maxBytes, CancellationToken ct)
    {
        await using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > maxBytes) throw new S3Exception(S3Error.MalformedXml, $"The XML body exceeds {maxBytes} bytes.");
            buffer.Write(chunk, 0, n);
        }
        buffer.Position = 0;
        try
        {
            using var reader = XmlReader.Create(buffer, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            return XElement.Load(reader);
        }
        catch (XmlException)
        {
            throw new S3Exception(S3Error.MalformedXml);
        }
    }

    /// <summary>Child elements by local name, whatever namespace the client used.</summary>
    public static IEnumerable<XElement> Children(this XElement e, string localName) =>
        e.Elements().Where(x => x.Name.LocalName == localName);

    public static string? ChildValue(this XElement e, string localName) =>
        e.Children(localName).FirstOrDefault()?.Value;
}
