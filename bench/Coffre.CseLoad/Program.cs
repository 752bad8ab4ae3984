using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Coffre.Kms.Keys;
using Coffre.Server.Cse;
using Coffre.Server.Dke;
using Coffre.Server.Hosting;
using Coffre.Server.Tokens;
using Coffre.TestSupport;

// Google Workspace CSE and Microsoft DKE key service load generator: a real Coffre server (real key manager, SQLite audit at
// synchronous=FULL) on loopback with the CSE face on, driven over HTTP/1.1 keep-alive by N concurrent clients replaying
// one wrap or unwrap request each. Tokens come from two local test issuers (RS256), so every request verifies two JWT
// signatures, as with Google; they stay valid for the run (the face, like Google's protocol, has no replay protection).
//   dotnet run -c Release --project bench/Coffre.CseLoad -- [seconds per run, default 5] [concurrency list, default 1,8,64]
// The same server also runs the Microsoft DKE face (RSA_2048 key, an Entra-like test issuer): "dke-decrypt" is a DKE
// decrypt of an RSA-OAEP-256 ciphertext, with its bearer token in the Authorization header (the CSE face ignores it).
// CSELOAD_OPS picks the operations (default wrap,unwrap,dke-decrypt).
// CSELOAD_CLIENT=wrk drives the server from a separate wrk process (Debian's wrk, one thread); CSELOAD_WARMUP seconds (10);
// CSELOAD_DIRECT=1 first times the token validations and the audited key-manager call alone.
var inv = System.Globalization.CultureInfo.InvariantCulture;
var seconds = args.Length > 0 ? double.Parse(args[0], inv) : 5;
var levels = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [1, 8, 64];
var useWrk = Environment.GetEnvironmentVariable("CSELOAD_CLIENT") == "wrk";
var warmUp = double.Parse(Environment.GetEnvironmentVariable("CSELOAD_WARMUP") ?? "10", inv);
const string kaclsUrl = "https://kacls.bench.test/v1";
const string email = "alice@bench.test";
const string resource = "//googleapis.com/drive/files/bench";

using var google = new TestIssuer("https://google.bench.test", "cse-authorization");
using var idp = new TestIssuer("https://idp.bench.test", "kacls");
using var entra = new TestIssuer("https://login.microsoftonline.bench.test/tenant/v2.0", "api://dke.bench.test");
var ops = (Environment.GetEnvironmentVariable("CSELOAD_OPS") ?? "wrap,unwrap,dke-decrypt").Split(',');
var data = Directory.CreateTempSubdirectory("coffre-cseload-").FullName;
var deployment = await Deployment.InitializeAsync(new DeploymentLocation(data), "bench passphrase", KmsOptions.InsecureForTests);
var keys = deployment.Keys;
keys.CreateKey("default", null, KeyManager.SystemPrincipal);
keys.CreateKey("workspace", "CSE load test key", KeyManager.SystemPrincipal);
keys.CreateKey("dke", "DKE load test key", KeyManager.SystemPrincipal, spec: KeySpec.Rsa2048);
var options = new CoffreServerOptions
{
    Listen = "127.0.0.1:0",
    MaintenanceInterval = TimeSpan.FromHours(1),
    AuditSynchronous = "FULL",
    Cse = new CseOptions
    {
        Url = kaclsUrl,
        Key = "workspace",
        AuthorizationIssuers = [new TokenIssuerOptions { Issuer = google.Issuer, Audience = google.Audience, JwksPath = google.JwksPath }],
        AuthenticationIssuers = [new TokenIssuerOptions { Issuer = idp.Issuer, Audience = idp.Audience, JwksPath = idp.JwksPath }],
        Perimeters = new() { ["*"] = ["@bench.test"] },
    },
    Dke = new DkeOptions
    {
        Url = "https://dke.bench.test/dke",
        Issuers = [new TokenIssuerOptions { Issuer = entra.Issuer, Audience = entra.Audience, JwksPath = entra.JwksPath }],
        Keys = new() { ["finance"] = new DkeKeyOptions { Key = "dke", AuthorizedEmails = [email] } },
    },
};
var (app, address) = await CoffreServer.StartInProcessAsync(options, deployment);
var endpoint = new Uri(address);
Console.WriteLine($"# Coffre CSE key service load test: {Environment.ProcessorCount} cores, {seconds}s per run, server GC {System.Runtime.GCSettings.IsServerGC}, " +
    $"audit synchronous={options.AuditSynchronous}, client {(useWrk ? "wrk" : "HttpClient")}, {endpoint}");

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseProxy = false })
{ BaseAddress = endpoint, DefaultRequestVersion = HttpVersion.Version11 };
var dkeToken = entra.Token(new Dictionary<string, object> { ["upn"] = email }, TimeSpan.FromHours(2));
http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", dkeToken);
var dkePublic = keys.GetPublicKey("dke", KeyManager.SystemPrincipal);
using var dkeRsa = System.Security.Cryptography.RSA.Create();
dkeRsa.ImportSubjectPublicKeyInfo(dkePublic.SubjectPublicKeyInfo, out _);
var dkePath = $"/dke/finance/{DkeFace.KeyId(dkePublic.KeyId, dkePublic.KeyVersion)}/decrypt";
var dkeBody = JsonSerializer.Serialize(new
{
    alg = DkeFace.Algorithm,
    value = Convert.ToBase64String(dkeRsa.Encrypt(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), System.Security.Cryptography.RSAEncryptionPadding.OaepSHA256)),
});

string Authorization(string role) => google.Token(new Dictionary<string, object>
{
    ["email"] = email, ["role"] = role, ["resource_name"] = resource, ["perimeter_id"] = "", ["kacls_url"] = kaclsUrl,
}, TimeSpan.FromHours(2));
var authentication = idp.Token(new Dictionary<string, object> { ["email"] = email }, TimeSpan.FromHours(2));
var dek = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
var wrapBody = JsonSerializer.Serialize(new { authorization = Authorization("writer"), authentication, key = dek, reason = "{\"client\":\"drive\",\"op\":\"update\"}" });
if (Environment.GetEnvironmentVariable("CSELOAD_DIRECT") == "1")
{
    // Where a request's CPU goes, one thread, no HTTP: the two token validations, then the audited key-manager call alone.
    var authorizationTokens = new BearerTokens(options.Cse.AuthorizationIssuers, TimeProvider.System);
    var authenticationTokens = new BearerTokens(options.Cse.AuthenticationIssuers, TimeProvider.System);
    var token = Authorization("writer");
    var binding = CseWrappedKey.Binding(resource, "");
    var plain = Convert.FromBase64String(dek);
    for (var round = 0; round < 2; round++) // the first round warms up
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 2000; i++)
        {
            await authorizationTokens.ValidateAsync(token, "authorization token", default);
            await authenticationTokens.ValidateAsync(authentication, "authentication token", default);
        }
        var tokensUs = sw.Elapsed.TotalMicroseconds / 2000;
        sw.Restart();
        for (var i = 0; i < 2000; i++) await keys.EncryptAsync("workspace", plain, binding, email);
        Console.WriteLine($"# direct, one thread: two token validations {tokensUs:N0} µs, audited EncryptAsync (fsync each) {sw.Elapsed.TotalMicroseconds / 2000:N0} µs");
    }
}
using (var first = await http.PostAsync("/v1/wrap", new StringContent(wrapBody, Encoding.UTF8, "application/json")))
{
    var text = await first.Content.ReadAsStringAsync();
    if (!first.IsSuccessStatusCode) throw new InvalidOperationException($"wrap: {(int)first.StatusCode} {text}");
    var wrapped = JsonDocument.Parse(text).RootElement.GetProperty("wrapped_key").GetString();
    var unwrapBody = JsonSerializer.Serialize(new { authorization = Authorization("reader"), authentication, wrapped_key = wrapped, reason = "{\"client\":\"drive\",\"op\":\"read\"}" });

    Console.WriteLine("| operation | clients | requests/s | p50 ms | p99 ms | CPU µs/request | audit records/commit | errors |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
    var warmedUp = false;
    var paths = new Dictionary<string, (string Path, string Body)>
    {
        ["wrap"] = ("/v1/wrap", wrapBody), ["unwrap"] = ("/v1/unwrap", unwrapBody), ["dke-decrypt"] = (dkePath, dkeBody),
    };
    foreach (var (op, (path, body)) in ops.Select(o => (o, paths[o])))
        foreach (var n in levels)
        {
            await Run(path, body, n, warmedUp ? 1 : warmUp);
            warmedUp = true;
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var (commits0, records0) = keys.AuditCommitStatistics;
            var (rps, p50, p99, errors) = await Run(path, body, n, seconds);
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMicroseconds / Math.Max(1, rps * seconds);
            var (commits1, records1) = keys.AuditCommitStatistics;
            var batch = (double)(records1 - records0) / Math.Max(1, commits1 - commits0);
            Console.WriteLine($"| {op} | {n} | {rps:N0} | {p50:F2} | {p99:F2} | {cpu:N0} | {batch:F1} | {errors} |");
        }
}
Console.WriteLine($"# audit after the runs: {keys.VerifyAudit("bench")}");
await app.StopAsync();
deployment.Dispose();
Directory.Delete(data, true);

async Task<(double Rps, double P50, double P99, long Errors)> Run(string path, string body, int clients, double duration) =>
    useWrk ? await RunWrk(path, body, clients, duration) : await RunHttpClient(path, body, clients, duration);

async Task<(double Rps, double P50, double P99, long Errors)> RunWrk(string path, string body, int clients, double duration)
{
    var script = Path.Combine(data, "load.lua");
    File.WriteAllText(script, $$"""
        wrk.method = "POST"
        wrk.body = [[{{body}}]]
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["Authorization"] = "Bearer {{dkeToken}}"
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("RESULT %d %d %.4f %.4f %d\n", summary.requests, summary.duration,
            latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
        end
        """);
    var psi = new ProcessStartInfo("wrk", ["-t1", $"-c{clients}", $"-d{Math.Max(1, (int)Math.Round(duration))}s", "-s", script, new Uri(endpoint, path).ToString()])
    { RedirectStandardOutput = true, RedirectStandardError = true };
    using var wrk = Process.Start(psi)!;
    var output = await wrk.StandardOutput.ReadToEndAsync();
    await wrk.WaitForExitAsync();
    var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
        ?? throw new InvalidOperationException("wrk gave no result: " + output + await wrk.StandardError.ReadToEndAsync());
    var f = line.Split(' ');
    return (long.Parse(f[1], inv) / (long.Parse(f[2], inv) / 1e6), double.Parse(f[3], inv), double.Parse(f[4], inv), long.Parse(f[5], inv));
}

async Task<(double Rps, double P50, double P99, long Errors)> RunHttpClient(string path, string body, int clients, double duration)
{
    var bytes = Encoding.UTF8.GetBytes(body);
    var stop = Stopwatch.GetTimestamp() + (long)(duration * Stopwatch.Frequency);
    var latencies = new List<double>[clients];
    long errors = 0;
    var started = Stopwatch.GetTimestamp();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
    {
        var mine = latencies[i] = new List<double>(1 << 16);
        while (Stopwatch.GetTimestamp() < stop)
        {
            var t0 = Stopwatch.GetTimestamp();
            using var content = new ByteArrayContent(bytes);
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            using var r = await http.PostAsync(path, content);
            _ = await r.Content.ReadAsByteArrayAsync();
            if (!r.IsSuccessStatusCode) Interlocked.Increment(ref errors);
            mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
    })));
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    return (all.Length / elapsed, all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], errors);
}
