using System.Net;
using System.Text;

namespace Coffre.Server.Reports;

/// <summary>A report laid out once (headings, paragraphs, lists, tables) and written as Markdown or as one self-contained HTML page, so both show the same text and figures.</summary>
public sealed class ReportDocument(string title)
{
    private abstract record Block;
    private sealed record Heading(int Level, string Text) : Block;
    private sealed record Paragraph(string Text) : Block;
    private sealed record Bullets(IReadOnlyList<string> Items) : Block;
    private sealed record Grid(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows) : Block;

    private readonly List<Block> _blocks = [];

    public ReportDocument H2(string text) => Add(new Heading(2, text));
    public ReportDocument H3(string text) => Add(new Heading(3, text));
    public ReportDocument P(string text) => Add(new Paragraph(text));
    public ReportDocument List(IEnumerable<string> items) => Add(new Bullets(items.ToList()));
    public ReportDocument Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows) => Add(new Grid(header, rows.ToList()));

    private ReportDocument Add(Block block)
    {
        _blocks.Add(block);
        return this;
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder($"# {title}\n");
        foreach (var block in _blocks)
        {
            md.Append('\n');
            switch (block)
            {
                case Heading h: md.Append(new string('#', h.Level)).Append(' ').Append(h.Text).Append('\n'); break;
                case Paragraph p: md.Append(p.Text).Append('\n'); break;
                case Bullets b: foreach (var item in b.Items) md.Append("- ").Append(item).Append('\n'); break;
                case Grid g:
                    md.Append("| ").Append(string.Join(" | ", g.Header.Select(Cell))).Append(" |\n");
                    md.Append('|').Append(string.Concat(g.Header.Select(_ => " --- |"))).Append('\n');
                    foreach (var row in g.Rows) md.Append("| ").Append(string.Join(" | ", row.Select(Cell))).Append(" |\n");
                    break;
            }
        }
        return md.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|").Replace("\n", "<br>");

    /// <summary>One page with its style inline and no external resource (no script, font, image or link to load).</summary>
    public string ToHtml()
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title>\n<style>\n")
            .Append("body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}\n")
            .Append("h1{border-bottom:3px solid #1d3557}h2{margin-top:2.5rem;border-bottom:1px solid #999}\n")
            .Append("table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}\n")
            .Append("th{background:#e8eef4}li{margin:.25rem 0}\n@media print{h2{page-break-before:always}}\n</style></head><body>\n")
            .Append("<h1>").Append(E(title)).Append("</h1>\n");
        foreach (var block in _blocks)
        {
            switch (block)
            {
                case Heading h: html.Append($"<h{h.Level}>").Append(E(h.Text)).Append($"</h{h.Level}>\n"); break;
                case Paragraph p: html.Append("<p>").Append(E(p.Text)).Append("</p>\n"); break;
                case Bullets b: html.Append("<ul>").Append(string.Concat(b.Items.Select(i => "<li>" + E(i) + "</li>"))).Append("</ul>\n"); break;
                case Grid g:
                    html.Append("<table><thead><tr>").Append(string.Concat(g.Header.Select(c => "<th>" + E(c) + "</th>"))).Append("</tr></thead><tbody>\n");
                    foreach (var row in g.Rows)
                        html.Append("<tr>").Append(string.Concat(row.Select(c => "<td>" + E(c).Replace("\n", "<br>") + "</td>"))).Append("</tr>\n");
                    html.Append("</tbody></table>\n");
                    break;
            }
        }
        return html.Append("</body></html>\n").ToString();
    }
}
