using System.Globalization;
using System.Text;
using Amazon.S3.Model;
using Coffre.Kms.Audit;
using Coffre.Kms.Keys;
using Coffre.Kms.Store;
using Coffre.Server.Audit;
using Coffre.Server.Tests.Gateway;
using Coffre.Storage;
using Coffre.TestSupport;
using Microsoft.Data.Sqlite;
using Coffre.Sqlite.Kms;
using Coffre.Server.Hosting;

namespace Coffre.Server.Tests.Audit;

/// <summary>
/// Checkpoints published outside keys.db, on real backends (local disk, moto) and in a file, catch the attack the local
/// checks cannot: deleting the newest records together with every checkpoint that covers them.
/// </summary>
public sealed class CheckpointPublicationTests : IDisposable
{
    private const string Passphrase = "test passphrase, not for production";
    private static readonly TimeSpan LongAgo = TimeSpan.FromDays(1);
    private readonly string _data = Directory.CreateTempSubdirectory("coffre-audit-pub-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("coffre-audit-siem-").FullName;

    public void Dispose()
    {
        foreach (var d in new[] { _data, _outside })
            try { Directory.Delete(d, recursive: true); } catch (IOException) { }
    }

    private string KeysDb => Path.Combine(_data, SqliteKeyDatabase.FileName);
    private DeploymentLocation Location => new(_data);

    [Fact]
    public async Task Records_and_checkpoints_cut_from_keys_db_are_reported_from_the_local_backend_and_the_file()
    {
        var backend = new LocalDiskBlobStore(Path.Combine(_outside, "objects"));
        await TruncationScenarioAsync(backend);
    }

    [Fact]
    public async Task Records_and_checkpoints_cut_from_keys_db_are_reported_from_an_s3_backend()
    {
        using var moto = new MotoServer();
        await moto.StartAsync();
        await moto.CreateBucketAsync("audit-pub");
        using var backend = new S3BlobStore(new S3BlobStoreOptions
        {
            Endpoint = moto.Endpoint, Region = moto.Region, Bucket = "audit-pub", KeyPrefix = "coffre/", ForcePathStyle = true,
            AccessKeyId = moto.AccessKey, SecretAccessKey = moto.SecretKey,
        });
        await TruncationScenarioAsync(backend);
        using var s3 = moto.CreateClient();
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "audit-pub", Prefix = "coffre/" });
        Assert.Equal(2, listed.S3Objects.Count); // one blob per checkpoint, under the reserved prefix
    }

    private async Task TruncationScenarioAsync(IBlobStore backend)
    {
        var file = Path.Combine(_outside, "checkpoints.jsonl");
        IAuditCheckpointSink[] sinks = [new BlobStoreCheckpointSink(backend), new FileCheckpointSink(file)];
        AuditCheckpoint? first, second;
        using (var deployment = await Deployment.InitializeAsync(Location, Passphrase, KmsOptions.InsecureForTests))
        {
            var keys = deployment.Keys;
            keys.CreateKey("finance", null, KeyManager.SystemPrincipal);
            var publisher = new AuditCheckpointPublisher(new AuditCheckpointer(keys, deployment.Audit), sinks);
            (first, var failed) = await publisher.CheckpointAsync(default);
            Assert.Empty(failed);
            for (var i = 0; i < 3; i++) keys.GenerateDataKey("finance", null, "mallory").Dispose(); // the extraction to hide
            (second, failed) = await publisher.CheckpointAsync(default);
            Assert.Empty(failed);
            Assert.Equal(4, publisher.Published);
        }
        Assert.Equal(2, File.ReadAllLines(file).Length);
        using var reopened = Deployment.Open(Location, Passphrase, KmsOptions.InsecureForTests);
        var store = reopened.Audit;
        Assert.Empty((await Check(store, sinks)).Findings);

        // The attack: with the gateway stopped, delete the newest records and every checkpoint after them.
        Sql($"DELETE FROM audit WHERE seq > {first!.Sequence}; DELETE FROM audit_checkpoint_chain WHERE number > {first.Number}");
        Assert.True(reopened.Keys.VerifyAudit("auditor").Ok);                                  // the shorter chain is a valid chain
        Assert.True(new AuditCheckpointer(reopened.Keys, store).Verify().Ok);                  // and so is the shorter chain of checkpoints

        var report = await Check(store, sinks);
        var end = store.Head()!.Value.Sequence;
        foreach (var sink in sinks)
        {
            Assert.Contains(report.Findings, f => f.Code == "records-removed" && f.Message.Contains(sink.Name)
                && f.Message.Contains($"covers record #{second!.Sequence}") && f.Message.Contains($"records #{end + 1}..#{second.Sequence} were removed"));
            Assert.Contains(report.Findings, f => f.Code == "checkpoints-removed" && f.Message.Contains(sink.Name) && f.Message.Contains("checkpoints #2..#2"));
        }
        Assert.All(report.Sinks, s => Assert.Equal(second!.Number, s.Newest!.Checkpoint.Number));
    }

    [Fact]
    public async Task A_published_checkpoint_is_never_overwritten()
    {
        var backend = new LocalDiskBlobStore(Path.Combine(_outside, "objects"));
        var sink = new BlobStoreCheckpointSink(backend);
        using var deployment = await Deployment.InitializeAsync(Location, Passphrase, KmsOptions.InsecureForTests);
        var checkpointer = new AuditCheckpointer(deployment.Keys, deployment.Audit);
        var publisher = new AuditCheckpointPublisher(checkpointer, [sink]);
        var (first, _) = await publisher.CheckpointAsync(default);
        var published = new PublishedCheckpoint(first!, checkpointer.PublicKey()!);
        await sink.PublishAsync(published, default); // again: harmless

        // Someone put another document where checkpoint #2 goes: publishing #2 reports it and leaves it for the auditor.
        var squatter = Encoding.UTF8.GetBytes("{\"format\":\"not-a-checkpoint\"}\n");
        await backend.PutAsync(BlobStoreCheckpointSink.BlobName(2), new MemoryStream(squatter), squatter.Length, new Dictionary<string, string>());
        var (second, failed) = await publisher.CheckpointAsync(default);
        var (name, error) = Assert.Single(failed);
        Assert.Equal(sink.Name, name);
        Assert.Contains("never overwritten", error.Message);
        Assert.Equal(1, publisher.Failures);
        await using var kept = await backend.GetAsync(BlobStoreCheckpointSink.BlobName(2));
        using var copy = new MemoryStream();
        await kept.Content.CopyToAsync(copy);
        Assert.Equal(squatter, copy.ToArray());
        Assert.Equal(2, second!.Number);
    }

    [Fact]
    public async Task A_chain_cut_under_a_running_gateway_is_never_published_over_the_old_branch()
    {
        var backend = new LocalDiskBlobStore(Path.Combine(_outside, "objects"));
        var file = Path.Combine(_outside, "checkpoints.jsonl");
        IAuditCheckpointSink[] sinks = [new BlobStoreCheckpointSink(backend), new FileCheckpointSink(file)];
        using var deployment = await Deployment.InitializeAsync(Location, Passphrase, KmsOptions.InsecureForTests);
        var keys = deployment.Keys;
        keys.CreateKey("finance", null, KeyManager.SystemPrincipal);
        var store = deployment.Audit;
        var publisher = new AuditCheckpointPublisher(new AuditCheckpointer(keys, store), sinks);
        for (var i = 0; i < 3; i++)
        {
            keys.GenerateDataKey("finance", null, "mallory").Dispose();
            Assert.Empty((await publisher.CheckpointAsync(default)).Failed);
        }

        // Checkpoints #2 and #3 cut from keys.db while the gateway runs: it goes on signing #2', #3', #4', #5'...
        Sql("DELETE FROM audit_checkpoint_chain WHERE number > 1");
        for (var i = 0; i < 4; i++)
        {
            var (checkpoint, failed) = await publisher.CheckpointAsync(default);
            Assert.Equal(i + 2, checkpoint!.Number);
            Assert.Equal(2, failed.Count); // ...none of which reaches a sink, even once its number passes the old ones
            Assert.All(failed, f => Assert.Contains("not in the chain of checkpoints in keys.db", f.Error.Message));
        }
        // A restarted gateway (a new publisher) reads the sinks again and refuses too.
        var (_, afterRestart) = await new AuditCheckpointPublisher(new AuditCheckpointer(keys, store), sinks).CheckpointAsync(default);
        Assert.Equal(2, afterRestart.Count);

        var report = await Check(store, sinks);
        Assert.All(report.Sinks, s => Assert.Equal(3, s.Newest!.Checkpoint.Number)); // the old branch is still the newest copy
        Assert.Equal(2, report.Findings.Count(f => f.Code == "checkpoint-replaced" && f.Message.StartsWith("checkpoint #3 in keys.db differs")));
    }

    [Fact]
    public async Task The_gateway_publishes_at_start_counts_failed_publications_and_still_serves()
    {
        var unwritable = Path.Combine(_outside, "no-such-directory", "checkpoints.jsonl");
        await using var gateway = await GatewayServer.StartAsync(configure: o => o.Audit.CheckpointFile = unwritable);
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Endpoint) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        Dictionary<string, double> metrics;
        do metrics = Parse(await http.GetStringAsync("/metrics"));
        while (metrics.GetValueOrDefault("coffre_audit_checkpoint_publication_failures_total") < 1 && DateTime.UtcNow < deadline && await Delay());
        Assert.Equal(1, metrics["coffre_audit_checkpoint_publications_total"]);          // the backend
        Assert.Equal(1, metrics["coffre_audit_checkpoint_publication_failures_total"]);  // the file
        Assert.NotNull(await new BlobStoreCheckpointSink(new LocalDiskBlobStore(gateway.BackendDirectory!)).ReadNewestAsync(default));

        using var s3 = gateway.CreateClient();
        await s3.PutBucketAsync("still-serving");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "still-serving", Key = "k", ContentBody = "v" });
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(50);
        return true;
    }

    private static Task<PublishedCheckpointReport> Check(IAuditLog store, IAuditCheckpointSink[] sinks) =>
        PublishedCheckpointCheck.RunAsync(store, sinks, null, DateTimeOffset.UtcNow, LongAgo, default);

    private void Sql(string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = KeysDb, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static Dictionary<string, double> Parse(string metrics) =>
        metrics.Split('\n')
            .Where(l => l.StartsWith("coffre_audit_checkpoint", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .ToDictionary(f => f[0], f => double.Parse(f[1], CultureInfo.InvariantCulture));
}
