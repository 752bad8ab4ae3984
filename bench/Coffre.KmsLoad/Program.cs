using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Keys;
using Coffre.Server.Auth;
using Coffre.Server.Hosting;
using Coffre.Server.Signing;

// KMS face load generator: a real Coffre server (real key manager, SQLite audit at synchronous=FULL) on
// loopback, driven over HTTP/1.1 keep-alive by N concurrent clients sending pre-signed requests.
//   dotnet run -c Release --project bench/Coffre.KmsLoad -- [seconds per run, default 5] [concurrency list, default 1,8,64]
// KMSLOAD_CLIENT=wrk drives the server from a separate wrk process (Debian's wrk, one thread) instead of HttpClient
// in this process; "CPU µs/request" is then the server's alone.
// KMSLOAD_FACE=xks drives the AWS External Key Store proxy face instead (XKS Encrypt with an integrity value, and
// Decrypt), signed as AWS KMS signs (service kms-xks-proxy, SignedHeaders host;x-amz-date).
var seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
var levels = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [1, 8, 64];
const string accessKey = "AKIACOFFREBENCH00001";
const string secret = "coffre-bench-secret-00000000000000001";

var data = Directory.CreateTempSubdirectory("coffre-kmsload-").FullName;
// KMSLOAD_DATABASE=<Npgsql connection string to an empty database>: keys and audit trail in PostgreSQL instead of keys.db.
// KMSLOAD_HSM_MODULE, KMSLOAD_HSM_TOKEN, KMSLOAD_HSM_PIN: the root key in a PKCS#11 token (e.g. SoftHSM2) instead of the
// sealed file. Either way the root is wrapped in a counter, to show how many unwraps reach the root per request.
var location = new DeploymentLocation(data, Environment.GetEnvironmentVariable("KMSLOAD_DATABASE"));
var hsmModule = Environment.GetEnvironmentVariable("KMSLOAD_HSM_MODULE");
var hsmToken = Environment.GetEnvironmentVariable("KMSLOAD_HSM_TOKEN") ?? "";
var hsmPin = Environment.GetEnvironmentVariable("KMSLOAD_HSM_PIN") ?? "";
var hsmKey = "kmsload-" + Guid.NewGuid().ToString("N")[..8];
var deploymentId = await InitializeAsync();
var unsealWatch = Stopwatch.StartNew();
var countingRoot = new CountingRoot(hsmModule is null
    ? Coffre.Kms.Root.SealedFileRoot.Unseal(Path.Combine(data, Deployment.SealFileName), "bench passphrase", KmsOptions.InsecureForTests.Seal)
    : Coffre.Kms.Root.Pkcs11Root.Open(deploymentId, hsmModule, hsmToken, hsmKey, hsmPin));
Console.WriteLine($"# root: {(hsmModule is null ? "sealed file (PBKDF2, test parameters)" : $"PKCS#11 {hsmModule}")}, opened in {unsealWatch.Elapsed.TotalMilliseconds:F0} ms");
using var deployment = Deployment.Open(location, countingRoot, KmsOptions.InsecureForTests);
var keys = deployment.Keys;
keys.CreateKey("default", null, KeyManager.SystemPrincipal);
var keyId = keys.CreateKey("bench", "load test key", KeyManager.SystemPrincipal).Id;
var options = new CoffreServerOptions
{
    Listen = "127.0.0.1:0",
    AccessKeys = [AccessKeyOptions.WithAllGrants(accessKey, secret)],
    MaintenanceInterval = TimeSpan.FromHours(1),
    AuditSynchronous = Environment.GetEnvironmentVariable("KMSLOAD_AUDIT") ?? "FULL",
};
var xksFace = Environment.GetEnvironmentVariable("KMSLOAD_FACE") == "xks";
const string xksAccessKey = "XKSBENCHACCESSKEY234567ABC";
const string xksSecret = "YmVuY2gtc2VjcmV0LW9mLXRoZS14a3MtZmFjZS0wMTIzNDU2";
const string xksPath = "/bench/kms/xks/v1/keys/bench-key/";
if (xksFace)
    options.Xks = new Coffre.Server.Xks.XksOptions
    {
        Stores = [new() { UriPrefix = "bench", AccessKeyId = xksAccessKey, SecretAccessKey = xksSecret,
            Keys = new() { ["bench-key"] = new() { Key = "bench" } } }],
    };
var (app, address) = await CoffreServer.StartInProcessAsync(options, deployment);
var endpoint = new Uri(address);
// KMSLOAD_INSTANCES=1|2 (with KMSLOAD_DATABASE): the clients go through Debian's nginx running the shipped configuration
// (deploy/nginx/coffre.conf) in front of one server, or of two servers on the same database, each with its own key
// manager, key cache and audit group commit (the second is in this process too: CPU µs/request counts both).
var instances = int.Parse(Environment.GetEnvironmentVariable("KMSLOAD_INSTANCES") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
Deployment? secondDeployment = null;
Microsoft.AspNetCore.Builder.WebApplication? secondApp = null;
Coffre.TestSupport.NginxServer? nginx = null;
if (instances > 0)
{
    var ports = new List<int> { endpoint.Port };
    if (instances > 1)
    {
        secondDeployment = Deployment.Open(location,
            Coffre.Kms.Root.SealedFileRoot.Unseal(Path.Combine(data, Deployment.SealFileName), "bench passphrase", KmsOptions.InsecureForTests.Seal),
            KmsOptions.InsecureForTests);
        (secondApp, var secondAddress) = await CoffreServer.StartInProcessAsync(options, secondDeployment);
        ports.Add(new Uri(secondAddress).Port);
    }
    nginx = Coffre.TestSupport.NginxServer.Start(ports);
    endpoint = new Uri(nginx.Endpoint);
}
ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
Console.WriteLine($"# Coffre {(xksFace ? "XKS" : "KMS")} face load test: {(instances > 0 ? $"{instances} instance(s) behind nginx, " : "")}{Environment.ProcessorCount} cores, {seconds}s per run, server GC {System.Runtime.GCSettings.IsServerGC}, " +
    $"min worker threads {minWorkers}, audit synchronous={options.AuditSynchronous}, {endpoint}");

using var http = new HttpClient(new SocketsHttpHandler
{
    MaxConnectionsPerServer = 1024,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    UseProxy = false,
    AutomaticDecompression = DecompressionMethods.None,
}) { BaseAddress = endpoint, DefaultRequestVersion = HttpVersion.Version11 };

// A ciphertext to decrypt (GenerateDataKey's blob, with an encryption context as real callers send).
var context = """{"purpose":"bench","tenant":"t1"}""";
var gdkBody = Encoding.UTF8.GetBytes($$"""{"KeyId":"{{keyId}}","KeySpec":"AES_256","EncryptionContext":{{context}}}""");
var first = await Send("GenerateDataKey", gdkBody);
var blob = JsonDocument.Parse(first).RootElement.GetProperty("CiphertextBlob").GetString();
var decryptBody = Encoding.UTF8.GetBytes($$"""{"CiphertextBlob":"{{blob}}","EncryptionContext":{{context}}}""");

// XKS: a 32-byte data key with 64 bytes of AAD (about what AWS KMS sends for GenerateDataKey), and its ciphertext to decrypt.
var xksMetadata = """{"awsPrincipalArn":"arn:aws:iam::123456789012:user/bench","kmsKeyArn":"arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab","kmsOperation":"GenerateDataKey","kmsRequestId":"4112f4d6-db54-4af4-ae30-c55a22a8dfae"}""";
var xksAad = Convert.ToBase64String(new byte[64]);
var xksEncryptBody = Encoding.UTF8.GetBytes($$"""{"requestMetadata":{{xksMetadata}},"plaintext":"{{Convert.ToBase64String(new byte[32])}}","additionalAuthenticatedData":"{{xksAad}}","encryptionAlgorithm":"AES_GCM","ciphertextDataIntegrityValueAlgorithm":"SHA_256"}""");
byte[] xksDecryptBody = [];
if (xksFace)
{
    var encrypted = JsonDocument.Parse(await Send("XksEncrypt", xksEncryptBody)).RootElement;
    string F(string name) => encrypted.GetProperty(name).GetString()!;
    xksDecryptBody = Encoding.UTF8.GetBytes($$"""{"requestMetadata":{{xksMetadata.Replace("GenerateDataKey", "Decrypt")}},"ciphertext":"{{F("ciphertext")}}","ciphertextMetadata":"{{F("ciphertextMetadata")}}","initializationVector":"{{F("initializationVector")}}","authenticationTag":"{{F("authenticationTag")}}","additionalAuthenticatedData":"{{xksAad}}","encryptionAlgorithm":"AES_GCM"}""");
}

if (Environment.GetEnvironmentVariable("KMSLOAD_DIRECT") == "1")
{
    // Key manager alone (no HTTP, no SigV4): the ceiling the face can reach.
    var ctx = new Dictionary<string, string> { ["purpose"] = "bench", ["tenant"] = "t1" };
    var raw = Convert.FromBase64String(blob!);
    foreach (var n in levels)
    {
        long count = 0;
        var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var sw = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, n).Select(_ => new Thread(() =>
        {
            while (Stopwatch.GetTimestamp() < end) { keys.Decrypt(raw, ctx, accessKey); Interlocked.Increment(ref count); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Console.WriteLine($"# direct KeyManager.Decrypt, {n} threads: {count / sw.Elapsed.TotalSeconds:N0}/s");
    }
}

Console.WriteLine("| operation | clients | requests/s | p50 ms | p99 ms | CPU µs/request | audit records/commit | errors |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
var onlyOps = Environment.GetEnvironmentVariable("KMSLOAD_OPS")?.Split(',');
var useWrk = Environment.GetEnvironmentVariable("KMSLOAD_CLIENT") == "wrk";
var warmUp = double.Parse(Environment.GetEnvironmentVariable("KMSLOAD_WARMUP") ?? "10", System.Globalization.CultureInfo.InvariantCulture);
var warmedUp = false;
var operations = xksFace ? new[] { ("XksEncrypt", xksEncryptBody), ("XksDecrypt", xksDecryptBody) } : [("GenerateDataKey", gdkBody), ("Decrypt", decryptBody)];
foreach (var (op, body) in operations.Where(o => onlyOps is null || onlyOps.Contains(o.Item1)))
    foreach (var n in levels)
    {
        // Warm-up: connections, thread pool and tiered JIT (tier-1 code with PGO takes ~10 s of load to settle
        // on 2 cores; measured before it, the first run shows half the steady-state rate).
        await Run(op, body, n, warmedUp ? 1 : warmUp);
        warmedUp = true;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var (commits0, records0) = keys.AuditCommitStatistics;
        var (rps, p50, p99, errors) = await Run(op, body, n, seconds);
        if (rps == 0) continue;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMicroseconds / (rps * seconds);
        var (commits1, records1) = keys.AuditCommitStatistics;
        var batch = (double)(records1 - records0) / Math.Max(1, commits1 - commits0);
        Console.WriteLine($"| {op} | {n} | {rps:N0} | {p50:F2} | {p99:F2} | {cpu:N0} | {batch:F1} | {errors} |");
    }

Console.WriteLine($"# root unwraps over all runs: {countingRoot.Unwraps} (key versions unwrapped once, then cached in the key manager)");
var audit = keys.VerifyAudit("bench");
Console.WriteLine($"# audit after the runs: {audit}");
nginx?.Dispose();
if (secondApp is not null) await secondApp.StopAsync();
secondDeployment?.Dispose();
await app.StopAsync();
keys.Dispose();
Directory.Delete(data, true);

async Task<string> InitializeAsync()
{
    using var created = hsmModule is null
        ? await Deployment.InitializeAsync(location, "bench passphrase", KmsOptions.InsecureForTests)
        : await Deployment.InitializeHsmAsync(location, hsmModule, hsmToken, hsmKey, hsmPin, KmsOptions.InsecureForTests);
    return created.Keys.DeploymentId;
}

// "XksEncrypt"/"XksDecrypt" are the XKS face's encrypt and decrypt; anything else a KMS operation.
string PathOf(string op) => op switch { "XksEncrypt" => xksPath + "encrypt", "XksDecrypt" => xksPath + "decrypt", _ => "/" };

Dictionary<string, string> Sign(string op, byte[] body)
{
    if (!op.StartsWith("Xks", StringComparison.Ordinal)) return SigV4ClientSigner.KmsHeaders(endpoint.Authority, op, body, accessKey, secret);
    var headers = new Dictionary<string, string> { ["host"] = endpoint.Authority, ["x-amz-date"] = SigV4ClientSigner.Timestamp(DateTimeOffset.UtcNow) };
    headers["Authorization"] = SigV4ClientSigner.Authorization("POST", PathOf(op), headers, body, xksAccessKey, xksSecret, "eu-west-3",
        Coffre.Server.Xks.XksFace.Service);
    return headers;
}

HttpRequestMessage Request(string op, byte[] body, Dictionary<string, string> signed)
{
    var xks = op.StartsWith("Xks", StringComparison.Ordinal);
    var m = new HttpRequestMessage(HttpMethod.Post, PathOf(op)) { Content = new ByteArrayContent(body), Version = HttpVersion.Version11 };
    m.Content.Headers.TryAddWithoutValidation("Content-Type", xks ? "application/json" : "application/x-amz-json-1.1");
    if (!xks) m.Headers.TryAddWithoutValidation("X-Amz-Target", "TrentService." + op);
    m.Headers.TryAddWithoutValidation("X-Amz-Date", signed["x-amz-date"]);
    m.Headers.TryAddWithoutValidation("Authorization", signed["Authorization"]);
    return m;
}

async Task<string> Send(string op, byte[] body)
{
    var signed = Sign(op, body);
    using var r = await http.SendAsync(Request(op, body, signed));
    var text = await r.Content.ReadAsStringAsync();
    if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{op}: {(int)r.StatusCode} {text}");
    return text;
}

async Task<(double Rps, double P50, double P99, long Errors)> Run(string op, byte[] body, int clients, double duration) =>
    useWrk ? await RunWrk(op, body, clients, duration) : await RunHttpClient(op, body, clients, duration);

// wrk replays one pre-signed request on each of its connections; its done() hook prints the figures.
async Task<(double Rps, double P50, double P99, long Errors)> RunWrk(string op, byte[] body, int clients, double duration)
{
    var signed = Sign(op, body);
    var xks = op.StartsWith("Xks", StringComparison.Ordinal);
    var script = Path.Combine(data, "load.lua");
    File.WriteAllText(script, $$"""
        wrk.method = "POST"
        wrk.path = "{{PathOf(op)}}"
        wrk.body = [[{{Encoding.UTF8.GetString(body)}}]]
        wrk.headers["Content-Type"] = "{{(xks ? "application/json" : "application/x-amz-json-1.1")}}"
        {{(xks ? "" : $"wrk.headers[\"X-Amz-Target\"] = \"TrentService.{op}\"")}}
        wrk.headers["X-Amz-Date"] = "{{signed["x-amz-date"]}}"
        wrk.headers["Authorization"] = "{{signed["Authorization"]}}"
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("RESULT %d %d %.4f %.4f %d\n", summary.requests, summary.duration,
            latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
        end
        """);
    var psi = new ProcessStartInfo("wrk", ["-t1", $"-c{clients}", $"-d{Math.Max(1, (int)Math.Round(duration))}s", "-s", script, endpoint.ToString()])
    { RedirectStandardOutput = true, RedirectStandardError = true };
    using var wrk = Process.Start(psi)!;
    var output = await wrk.StandardOutput.ReadToEndAsync();
    await wrk.WaitForExitAsync();
    var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
        ?? throw new InvalidOperationException("wrk gave no result: " + output + await wrk.StandardError.ReadToEndAsync());
    var f = line.Split(' ');
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    return (long.Parse(f[1], inv) / (long.Parse(f[2], inv) / 1e6), double.Parse(f[3], inv), double.Parse(f[4], inv), long.Parse(f[5], inv));
}

async Task<(double Rps, double P50, double P99, long Errors)> RunHttpClient(string op, byte[] body, int clients, double duration)
{
    // Pre-signed: one signature per client, valid for the whole run (SigV4 has no replay protection within the skew window).
    var signed = Sign(op, body);
    var stop = Stopwatch.GetTimestamp() + (long)(duration * Stopwatch.Frequency);
    var latencies = new List<double>[clients];
    long errors = 0;
    var started = Stopwatch.GetTimestamp();
    var tasks = Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
    {
        var mine = latencies[i] = new List<double>(1 << 16);
        while (Stopwatch.GetTimestamp() < stop)
        {
            var t0 = Stopwatch.GetTimestamp();
            using var r = await http.SendAsync(Request(op, body, signed), HttpCompletionOption.ResponseContentRead);
            _ = await r.Content.ReadAsByteArrayAsync();
            if (!r.IsSuccessStatusCode) Interlocked.Increment(ref errors);
            mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
    })).ToArray();
    await Task.WhenAll(tasks);
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    return (all.Length / elapsed, all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], errors);
}

/// <summary>Counts the unwraps that reach the root of trust (for the HSM root: calls into the token).</summary>
sealed class CountingRoot(Coffre.Kms.Root.IRootOfTrust inner) : Coffre.Kms.Root.IRootOfTrust
{
    private long _unwraps;
    public long Unwraps => Interlocked.Read(ref _unwraps);
    public string DeploymentId => inner.DeploymentId;
    public byte[] Wrap(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> associatedData) => inner.Wrap(keyMaterial, associatedData);

    public void Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> keyMaterial)
    {
        Interlocked.Increment(ref _unwraps);
        inner.Unwrap(wrapped, associatedData, keyMaterial);
    }

    public void Dispose() => inner.Dispose();
}

