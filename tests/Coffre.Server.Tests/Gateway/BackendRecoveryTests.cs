using static Coffre.Server.Tests.Gateway.SdkTestSupport;

namespace Coffre.Server.Tests.Gateway;

/// <summary>
/// What a crash leaves in the local backend (".tmp-*" files, bodies no record points to) is removed by the gateway's
/// maintenance, which runs at start and then every interval; files young enough to belong to a write in flight stay.
/// </summary>
public sealed class BackendRecoveryTests
{
    [Fact]
    public async Task Maintenance_removes_old_leftovers_of_interrupted_writes_and_keeps_fresh_ones_and_every_object()
    {
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.MaintenanceInterval = TimeSpan.FromSeconds(1));
        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("crash");
        var bodies = Enumerable.Range(0, 5).ToDictionary(i => $"obj-{i}", i => Pattern(70_000, i));
        foreach (var (key, body) in bodies) await s3.PutBytesAsync("crash", key, body);

        var dir = Path.GetDirectoryName(LocalDiskBlob(gateway, (await PartsAsync(gateway, "crash", "obj-0"))[0].Blob).MetaPath)!;
        var stem = Path.GetFileNameWithoutExtension(LocalDiskBlob(gateway, (await PartsAsync(gateway, "crash", "obj-0"))[0].Blob).MetaPath);
        string[] old = [Path.Combine(dir, ".tmp-0123456789abcdef01234567.d"), Path.Combine(dir, ".tmp-0123456789abcdef01234568.m"),
            Path.Combine(dir, stem + ".cccccccccccccccccccccccc.d")];
        var fresh = Path.Combine(dir, ".tmp-aaaaaaaaaaaaaaaaaaaaaaaa.d");
        foreach (var path in old)
        {
            File.WriteAllBytes(path, Pattern(100_000, 9));
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddDays(-1));
        }
        File.WriteAllBytes(fresh, Pattern(1000, 10));

        for (var i = 0; i < 300 && old.Any(File.Exists); i++) await Task.Delay(100);
        Assert.DoesNotContain(old, File.Exists);
        Assert.True(File.Exists(fresh), "a file young enough to belong to a write in flight was removed");
        foreach (var (key, body) in bodies) Assert.Equal(body, await s3.GetBytesAsync("crash", key));
    }
}
