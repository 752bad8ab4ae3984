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
        // Written into a MemoryStream (no I/O to wait for), then copied to the response asynchronously.
#pragma warning disable VSTHRD103
        using (var w = XmlWriter.Create(buffer, Settings))
        {
            w.WriteStartDocument();
            if (s3Namespace) w.WriteStartElement(root, Namespace); else w.WriteStartElement(root);
            body(w);
            w.WriteEndElement();
            w.WriteEndDocument();
        }
#pragma warning restore VSTHRD103
        buffer.Position = 0;
        await buffer.CopyToAsync(output).ConfigureAwait(false);
    }

    public static void Element(this XmlWriter w, string name, string? value)
    {
        if (value is not null) w.WriteElementString(name, value);
    }

    /// <summary>Deepest element accepted in a request body: every S3 body (Delete, CompleteMultipartUpload) needs three levels.</summary>
    public const int MaxDepth = 8;

    /// <summary>
    /// Parses a small XML request body (CompleteMultipartUpload, Delete); anything malformed is MalformedXML.
    /// The tree is built while the reader streams, and the parse stops at the first element deeper than
    /// <see cref="MaxDepth"/> or beyond <paramref name="maxElements"/>: XElement.Load took CPU quadratic in the
    /// nesting depth (a 700 KB body of 100,000 nested elements cost 19 s of a core before its 400).
    /// </summary>
    public static async Task<XElement> ReadAsync(Stream body, int maxBytes, int maxElements, CancellationToken ct)
    {
        await using var buffer = await ReadBoundedAsync(body, maxBytes, new S3Exception(S3Error.MalformedXml, $"The XML body exceeds {maxBytes} bytes."), ct)
            .ConfigureAwait(false);
        try
        {
            using var reader = XmlReader.Create(buffer, new XmlReaderSettings
            {
                DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = maxBytes,
                IgnoreComments = true, IgnoreProcessingInstructions = true,
            });
            return Build(reader, maxElements);
        }
        catch (XmlException)
        {
            throw new S3Exception(S3Error.MalformedXml);
        }
    }

    /// <summary>A small request body read whole, refused with <paramref name="tooLarge"/> past <paramref name="maxBytes"/>.</summary>
    public static async Task<MemoryStream> ReadBoundedAsync(Stream body, int maxBytes, S3Exception tooLarge, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > maxBytes) throw tooLarge;
#pragma warning disable VSTHRD103 // a MemoryStream: no I/O to wait for
            buffer.Write(chunk, 0, n);
#pragma warning restore VSTHRD103
        }
        buffer.Position = 0;
        return buffer;
    }

    private static XElement Build(XmlReader reader, int maxElements)
    {
        XElement? root = null;
        var open = new Stack<XElement>();
        var elements = 0;
        while (reader.Read())
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    if (reader.Depth >= MaxDepth)
                        throw new S3Exception(S3Error.MalformedXml, $"The XML body nests elements more than {MaxDepth} levels deep.");
                    if (++elements > maxElements)
                        throw new S3Exception(S3Error.MalformedXml, $"The XML body has more than {maxElements} elements.");
                    var element = new XElement(XName.Get(reader.LocalName, reader.NamespaceURI));
                    if (open.TryPeek(out var parent)) parent.Add(element); else root = element;
                    if (!reader.IsEmptyElement) open.Push(element);
                    break;
                case XmlNodeType.EndElement:
                    open.Pop();
                    break;
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    if (open.TryPeek(out var holder)) holder.Add(new XText(reader.Value));
                    break;
            }
        }
        return root ?? throw new S3Exception(S3Error.MalformedXml);
    }

    /// <summary>Child elements by local name, whatever namespace the client used.</summary>
    public static IEnumerable<XElement> Children(this XElement e, string localName) =>
        e.Elements().Where(x => x.Name.LocalName == localName);

    public static string? ChildValue(this XElement e, string localName) =>
        e.Children(localName).FirstOrDefault()?.Value;
}
