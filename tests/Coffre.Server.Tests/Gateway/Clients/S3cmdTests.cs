using static Coffre.Server.Tests.Gateway.Clients.ClientTestFiles;

namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>s3cmd 2.x (SigV4, path style, 15 MiB multipart chunks) against a local-disk gateway.</summary>
public sealed class S3cmdTests() : GatewayClientTests("coffre-s3cmd-")
{
    private string? _download;

    /// <summary>Where a test downloads to (one per test).</summary>
    private string Down => _download ??= ScratchDirectory();

    private async Task<CliResult> Ok(params string[] args) => (await Cli.S3cmdAsync(args)).EnsureSuccess();

    private static string[] Lines(CliResult r) => r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Put_and_get_keep_the_bytes_multipart_included()
    {
        Assert.Contains("s3://s3cmd-rt/", (await Ok("mb", "s3://s3cmd-rt")).Stdout);
        await Ok(["put", .. Bodies.Select(b => PathOf(b.Name)), "s3://s3cmd-rt/dir/"]);
        await Ok("get", "--force", "--recursive", "s3://s3cmd-rt/dir/", Down + "/");
        foreach (var (name, _) in Bodies)
            AssertSameFile(PathOf(name), Path.Combine(Down, name));
        // 60 MiB in s3cmd's 15 MiB chunks: a 4-part upload.
        var info = (await Ok("info", "s3://s3cmd-rt/dir/sixty.bin")).Stdout;
        Assert.Contains($"File size: {60 * MiB}", info);
        var ls = Lines(await Ok("ls", "s3://s3cmd-rt/dir/"));
        Assert.Equal(Bodies.Select(b => b.Name).Order(StringComparer.Ordinal), ls.Select(l => l.Split('/').Last()));
        Assert.Contains(ls, l => l.Contains($" {60 * MiB} ", StringComparison.Ordinal));
        Assert.Contains("s3://s3cmd-rt", (await Ok("ls")).Stdout);
        var bucketInfo = (await Ok("info", "s3://s3cmd-rt")).Stdout;
        Assert.Contains("Location:  us-east-1", bucketInfo);
    }

    [Fact]
    public async Task Sync_list_copy_move_and_delete_a_tree()
    {
        await Ok("mb", "s3://s3cmd-tree");
        await Ok("sync", TreeDirectory + "/", "s3://s3cmd-tree/t/");
        var top = Lines(await Ok("ls", "s3://s3cmd-tree/t/"));
        Assert.Equal(["DIR  s3://s3cmd-tree/t/a/", "DIR  s3://s3cmd-tree/t/d/", "DIR  s3://s3cmd-tree/t/e f/"], top.Where(l => l.StartsWith("DIR", StringComparison.Ordinal)));
        Assert.Equal(["x1", "x14", "x18"], top.Where(l => !l.StartsWith("DIR", StringComparison.Ordinal)).Select(l => l.Split('/').Last()));
        Assert.Equal(["DIR  s3://s3cmd-tree/t/a/b/", "DIR  s3://s3cmd-tree/t/a/c/"], Lines(await Ok("ls", "s3://s3cmd-tree/t/a/")).Where(l => l.StartsWith("DIR", StringComparison.Ordinal)));
        var all = Lines(await Ok("ls", "--recursive", "s3://s3cmd-tree"));
        Assert.Equal(TreeFiles.Select(f => "s3://s3cmd-tree/t/" + f).Order(StringComparer.Ordinal), all.Select(l => l[l.IndexOf("s3://", StringComparison.Ordinal)..]));

        await Ok("sync", "s3://s3cmd-tree/t/", Down + "/");
        AssertSameTree(TreeDirectory, Down);

        await Ok("put", PathOf("one.bin"), "s3://s3cmd-tree/typed.bin", "--mime-type=text/x-test", "--no-guess-mime-type", "--add-header=Cache-Control:max-age=60");
        Assert.Contains("MIME type: text/x-test", (await Ok("info", "s3://s3cmd-tree/typed.bin")).Stdout);
        await Ok("cp", "s3://s3cmd-tree/typed.bin", "s3://s3cmd-tree/copied.bin");
        Assert.Contains("MIME type: text/x-test", (await Ok("info", "s3://s3cmd-tree/copied.bin")).Stdout);
        await Ok("mv", "s3://s3cmd-tree/copied.bin", "s3://s3cmd-tree/moved.bin");
        await Ok("get", "s3://s3cmd-tree/moved.bin", Path.Combine(Down, "moved.bin"));
        AssertSameFile(PathOf("one.bin"), Path.Combine(Down, "moved.bin"));
        Assert.DoesNotContain("copied.bin", (await Ok("ls", "s3://s3cmd-tree/")).Stdout);

        var deleted = Lines(await Ok("del", "--recursive", "--force", "s3://s3cmd-tree/t/a/"));
        Assert.Equal(11, deleted.Count(l => l.StartsWith("delete:", StringComparison.Ordinal)));
        Assert.Equal(TreeFiles.Length - 11, Lines(await Ok("ls", "--recursive", "s3://s3cmd-tree/t/")).Length);
        await Ok("del", "--recursive", "--force", "s3://s3cmd-tree/");
        await Ok("rb", "s3://s3cmd-tree");
        Assert.DoesNotContain("s3cmd-tree", (await Ok("ls")).Stdout);
    }
}
