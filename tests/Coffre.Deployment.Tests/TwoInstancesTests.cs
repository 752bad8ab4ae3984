using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Coffre.TestSupport;
using Npgsql;

namespace Coffre.Deployment.Tests;

/// <summary>
/// Two `coffre serve` processes on one PostgreSQL database and one backend directory, as in production behind the
/// shipped nginx configuration, driven by the AWS CLI v2 and boto3: an instance SIGKILLed mid-upload loses no
/// acknowledged object, and the instance holding the rewrap lease SIGKILLed mid-rewrap has its work finished by the other.
/// </summary>
public sealed class TwoInstancesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("coffre-two-").FullName;

    private async Task<(CoffreServeProcess A, CoffreServeProcess B, string Database)> StartPairAsync(Dictionary<string, string>? settings = null)
    {
        var database = await PostgresServer.CreateSharedDatabaseAsync();
        var environment = new Dictionary<string, string>(settings ?? [])
        {
            ["Coffre__Database"] = database,
            ["Coffre__Backend__Path"] = Path.Combine(_root, "objects"),
        };
        var a = await CoffreServeProcess.StartAsync(Path.Combine(_root, "a"), environment);
        // The second instance opens the same deployment: the same root seal, the keys in the shared database.
        Directory.CreateDirectory(Path.Combine(_root, "b"));
        File.Copy(Path.Combine(_root, "a", "root.seal"), Path.Combine(_root, "b", "root.seal"));
        var b = await CoffreServeProcess.StartAsync(Path.Combine(_root, "b"), environment);
        return (a, b, database);
    }

    [Fact]
    public async Task An_instance_SIGKILLed_mid_upload_loses_no_acknowledged_object_and_the_other_serves_every_one_intact()
    {
        var (a, b, _) = await StartPairAsync();
        using var _a = a;
        using var _b = b;
        using var nginx = NginxServer.Start([a.Port, b.Port]);
        (await Client.AwsAsync(nginx.Endpoint, "s3", "mb", "s3://shared")).AssertSucceeded();
        var file = Path.Combine(_root, "big.bin");
        var content = RandomNumberGenerator.GetBytes(48 << 20); // multipart: six 8 MiB parts spread over both instances
        await File.WriteAllBytesAsync(file, content);

        using var boto = Client.Start("/usr/bin/python3", Client.Script, "put", nginx.Endpoint, "shared", "small/", "400");
        using var cli = Client.Start("/usr/bin/aws", "--endpoint-url", nginx.Endpoint, "s3", "cp", file, "s3://shared/big.bin");
        await Client.EventuallyAsync(() => boto.Lines.Count >= 40 || boto.HasExited, "boto3 acknowledged no upload");
        a.Kill();
        (await boto.WaitAsync()).AssertSucceeded();
        (await cli.WaitAsync()).AssertSucceeded();
        Assert.Equal(400, boto.Lines.Count);

        // Every acknowledged object, read through the surviving instance alone.
        using var verify = Client.Start("/usr/bin/python3", [Client.Script, "verify", b.Endpoint, "shared"], stdin: string.Join('\n', boto.Lines));
        (await verify.WaitAsync()).AssertSucceeded();
        var back = Path.Combine(_root, "back.bin");
        (await Client.AwsAsync(b.Endpoint, "s3", "cp", "s3://shared/big.bin", back)).AssertSucceeded();
        var downloaded = await File.ReadAllBytesAsync(back);
        Assert.True(content.SequenceEqual(downloaded), "the multipart object came back different");
    }

    [Fact]
    public async Task The_rewrap_lease_holder_SIGKILLed_mid_rewrap_is_taken_over_and_the_other_instance_finishes_every_object()
    {
        var (a, b, database) = await StartPairAsync(new()
        {
            ["Coffre__MaintenanceInterval"] = "00:00:01",
            ["Coffre__LeaseDuration"] = "00:00:03",
            ["Coffre__RewrapObjectsPerSecond"] = "8",
        });
        using var _a = a;
        using var _b = b;
        const int count = 120;
        (await Client.AwsAsync(a.Endpoint, "s3", "mb", "s3://data")).AssertSucceeded();
        using (var put = Client.Start("/usr/bin/python3", Client.Script, "put", a.Endpoint, "data", "o/", count.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            (await put.WaitAsync()).AssertSucceeded();
        // `coffre key rotate` on the shared database, as an operator does.
        using (var rotate = Client.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "coffre.dll"), "key", "rotate", "default", "--data", Path.Combine(_root, "a")],
                   null, new Dictionary<string, string> { ["Coffre__Database"] = database, ["COFFRE_PASSPHRASE"] = CoffreServeProcess.Passphrase }))
            (await rotate.WaitAsync()).AssertSucceeded();

        await using var db = NpgsqlDataSource.Create(database);
        async Task<long> BelowPrimaryAsync() => (long)(await db.CreateCommand("SELECT count(*) FROM catalog.objects WHERE key_version < 2").ExecuteScalarAsync())!;
        // The running lease (unexpired), or with anyRow the last one granted.
        async Task<(string Holder, long Token)?> RewrapLeaseAsync(bool anyRow = false)
        {
            await using var reader = await db.CreateCommand("SELECT holder, token FROM kms_leases WHERE name = 'rewrap'" +
                (anyRow ? "" : " AND expires > clock_timestamp()")).ExecuteReaderAsync();
            return await reader.ReadAsync() ? (reader.GetString(0), reader.GetInt64(1)) : null;
        }

        // Mid-rewrap: some objects moved, most not yet.
        (string Holder, long Token)? first = null;
        await Client.EventuallyAsync(async () =>
        {
            var below = await BelowPrimaryAsync();
            first = await RewrapLeaseAsync();
            return first is not null && below is > 0 and <= count - 10;
        }, "the rewrap never started");
        var holder = first!.Value.Holder.Contains($"/{a.ProcessId}/", StringComparison.Ordinal) ? a : b;
        var survivor = holder == a ? b : a;
        Assert.Contains($"/{holder.ProcessId}/", first.Value.Holder, StringComparison.Ordinal);
        holder.Kill();
        var left = await BelowPrimaryAsync();
        Assert.True(left > 0, "the rewrap finished before the holder was killed");

        await Client.EventuallyAsync(async () => await BelowPrimaryAsync() == 0, "the surviving instance never finished the rewrap", TimeSpan.FromSeconds(180));
        // The lease passed to the survivor (a new holder, a greater fencing token) once the dead holder's expired.
        var now = await RewrapLeaseAsync(anyRow: true);
        Assert.NotNull(now);
        Assert.Contains($"/{survivor.ProcessId}/", now.Value.Holder, StringComparison.Ordinal);
        Assert.True(now.Value.Token > first.Value.Token);

        var keys = string.Join('\n', Enumerable.Range(0, count).Select(i => $"o/{i:D5}"));
        using var verify = Client.Start("/usr/bin/python3", [Client.Script, "verify", survivor.Endpoint, "data"], stdin: keys);
        (await verify.WaitAsync()).AssertSucceeded();
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A client process (aws, python3 with boto3) with the instances' credentials; its stdout lines as they come.</summary>
    private sealed class Client : IDisposable
    {
        public static string Script => Path.Combine(AppContext.BaseDirectory, "s3_client.py");

        private readonly Process _process;
        private readonly Task<string> _stderr;
        private readonly Task _stdout;

        private Client(Process process)
        {
            _process = process;
            _stderr = process.StandardError.ReadToEndAsync();
            _stdout = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line) Lines.Enqueue(line);
            });
        }

        public ConcurrentQueue<string> Lines { get; } = new();
        public bool HasExited => _process.HasExited;

        public static Client Start(string program, params string[] args) => Start(program, args, null);

        public static Client Start(string program, string[] args, string? stdin, IReadOnlyDictionary<string, string>? environment = null)
        {
            var psi = new ProcessStartInfo(program)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            };
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["AWS_ACCESS_KEY_ID"] = CoffreServeProcess.AccessKey;
            psi.Environment["AWS_SECRET_ACCESS_KEY"] = CoffreServeProcess.SecretKey;
            psi.Environment["AWS_DEFAULT_REGION"] = "us-east-1";
            psi.Environment["AWS_CONFIG_FILE"] = "/dev/null";
            psi.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null";
            psi.Environment.Remove("AWS_CA_BUNDLE");
            foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
            var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
            if (stdin is not null) process.StandardInput.Write(stdin);
            process.StandardInput.Close();
            return new Client(process);
        }

        public static async Task<Result> AwsAsync(string endpoint, params string[] args)
        {
            using var c = Start("/usr/bin/aws", ["--endpoint-url", endpoint, .. args], null);
            return await c.WaitAsync();
        }

        public async Task<Result> WaitAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await _process.WaitForExitAsync(timeout.Token);
            await _stdout;
            return new Result(_process.ExitCode, string.Join('\n', Lines), await _stderr);
        }

        public static async Task EventuallyAsync(Func<Task<bool>> condition, string failure, TimeSpan? within = null)
        {
            var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(120));
            while (!await condition())
            {
                Assert.True(DateTime.UtcNow < deadline, failure);
                await Task.Delay(100);
            }
        }

        public static Task EventuallyAsync(Func<bool> condition, string failure) => EventuallyAsync(() => Task.FromResult(condition()), failure);

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }

    private sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public void AssertSucceeded() => Assert.True(ExitCode == 0, $"exit {ExitCode}\n{Stdout}\n{Stderr}");
    }
}
