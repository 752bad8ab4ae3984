using System.Globalization;
using System.Text;
using Coffre.Server.S3;

namespace Coffre.Fuzz.Targets;

/// <summary>
/// The Range header of GetObject. Input: the object size on the first line, the header value after it. A range the
/// parser returns must lie within the object; every rejection is an <see cref="S3Exception"/> (InvalidRange).
/// </summary>
public sealed class RangeHeaderTarget : FuzzTarget
{
    public override string Name => "range";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        var newline = text.IndexOf('\n');
        if (newline < 0 || !long.TryParse(text[..newline], NumberStyles.None, CultureInfo.InvariantCulture, out var size)) return;
        var header = text[(newline + 1)..];
        try
        {
            if (S3Headers.ParseRange(header, size) is var (start, end))
                Check(0 <= start && start < end && end <= size, $"range [{start}, {end}) of a {size}-byte object");
        }
        catch (S3Exception e) when (e.Error == S3Error.InvalidRange)
        {
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        yield return ("first-bytes", "1000\nbytes=0-99"u8.ToArray());
        yield return ("open-ended", "1000\nbytes=500-"u8.ToArray());
        yield return ("suffix", "1000\nbytes=-100"u8.ToArray());
        yield return ("past-end", "1000\nbytes=900-5000"u8.ToArray());
        yield return ("large", "5497558138880\nbytes=4398046511104-4398046512127"u8.ToArray());
    }
}
