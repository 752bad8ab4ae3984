using System.Text.Json;
using static Coffre.Server.Tests.Gateway.Clients.ClientTestFiles;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// rclone (s3 backend, provider Other, path style) against a local-disk gateway. rclone only goes multipart above
/// 200 MiB by default; the tests force 5 MiB parts so that multipart uploads are exercised.
/// </summary>
public sealed class RcloneTests() : GatewayClientTests("coffre-rclone-")
{
    private string? _download;

    /// <summary>Where a test downloads to (one per test).</summary>
    private string Down => _download ??= ScratchDirectory();

    private static readonly string[] Multipart = ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"];


    private async Task<CliResult> Ok(params string[] args) => (await Cli.RcloneAsync([.. args, .. Multipart])).EnsureSuccess();

    private static string[] Lines(CliResult r) => r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Copy_up_andDown_keeps_the_bytes_multipart_included_and_ranged_cat_works()
    {
        await Ok("mkdir", "gw:rclone-rt");
        await Ok("copy", BodiesDirectory, "gw:rclone-rt/dir");
        await Ok("copy", "gw:rclone-rt/dir", Down);
        foreach (var (name, _) in Bodies)
            AssertSameFile(PathOf(name), Path.Combine(Down, name));
        var listing = JsonDocument.Parse((await Ok("lsjson", "gw:rclone-rt/dir")).Stdout).RootElement;
        Assert.Equal(Bodies.OrderBy(b => b.Name, StringComparer.Ordinal).Select(b => (b.Name, (long)b.Size)),
            listing.EnumerateArray().Select(e => (e.GetProperty("Name").GetString()!, e.GetProperty("Size").GetInt64())));

        // rclone keeps the MD5 of a multipart upload in x-amz-meta-md5chksum; md5sum reads it back through HEAD.
        var md5 = (await Ok("md5sum", "gw:rclone-rt/dir/sixty.bin")).Stdout;
        Assert.StartsWith(Md5(PathOf("sixty.bin")), md5);
        await Ok("check", BodiesDirectory, "gw:rclone-rt/dir");

        // Ranged reads of a 2-part object (5 MiB parts): inside part 1, across the boundary, in part 2.
        await Ok("copyto", LinesPath, "gw:rclone-rt/lines.txt");
        foreach (var (offset, count) in new (long, int)[] { (16, 32), (5 * MiB - 20, 40), (6 * MiB, 100) })
        {
            var cat = await Ok("cat", "--offset", offset.ToString(), "--count", count.ToString(), "gw:rclone-rt/lines.txt");
            Assert.Equal(System.Text.Encoding.ASCII.GetString(Slice(LinesPath, offset, count)), cat.Stdout.TrimEnd('\n').Length == count ? cat.Stdout.TrimEnd('\n') : cat.Stdout);
        }
    }

    [Fact]
    public async Task Copy_list_check_and_delete_a_tree()
    {
        await Ok("mkdir", "gw:rclone-tree");
        await Ok("copy", TreeDirectory, "gw:rclone-tree/t");
        Assert.Equal(["a/", "d/", "e f/", "x1", "x14", "x18"], Lines(await Ok("lsf", "gw:rclone-tree/t")));
        Assert.Equal(["b/", "c/", "x13", "x2"], Lines(await Ok("lsf", "gw:rclone-tree/t/a")));
        Assert.Equal(["x 9", "x%20", "x+10"], Lines(await Ok("lsf", "gw:rclone-tree/t/e f")));
        Assert.Equal(TreeFiles.Order(StringComparer.Ordinal), Lines(await Ok("lsf", "-R", "--files-only", "gw:rclone-tree/t")).Order(StringComparer.Ordinal));
        await Ok("check", TreeDirectory, "gw:rclone-tree/t");

        await Ok("copy", "gw:rclone-tree/t", Down);
        AssertSameTree(TreeDirectory, Down);

        // Server-side copy within the gateway, then deletes.
        await Ok("copy", "gw:rclone-tree/t/d", "gw:rclone-tree/copy-of-d");
        Assert.Equal(["x15", "x7", "x8"], Lines(await Ok("lsf", "gw:rclone-tree/copy-of-d")));
        await Ok("delete", "gw:rclone-tree/t/a");
        Assert.Equal(["d/", "e f/", "x1", "x14", "x18"], Lines(await Ok("lsf", "gw:rclone-tree/t")));
        await Ok("purge", "gw:rclone-tree");
        Assert.DoesNotContain("rclone-tree", (await Ok("lsd", "gw:")).Stdout);
    }

    [Fact]
    public async Task Headers_and_metadata_round_trip()
    {
        await Ok("mkdir", "gw:rclone-meta");
        var page = Path.Combine(Down, "page.html");
        await File.WriteAllTextAsync(page, "<html></html>\n");
        await Ok("copyto", page, "gw:rclone-meta/page.html", "--header-upload", "Cache-Control: max-age=60", "--metadata", "--metadata-set", "colour=blue");
        var entry = JsonDocument.Parse((await Ok("lsjson", "-M", "gw:rclone-meta/page.html")).Stdout).RootElement[0];
        Assert.StartsWith("text/html", entry.GetProperty("MimeType").GetString());
        var meta = entry.GetProperty("Metadata");
        Assert.Equal("max-age=60", meta.GetProperty("cache-control").GetString());
        Assert.Equal("blue", meta.GetProperty("colour").GetString());
    }
}
