using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Coffre.Server.Observability;

/// <summary>
/// The server's counters, exposed at /metrics in the Prometheus text format. Labels come from closed sets
/// the server declares (<see cref="Declare"/>): the face, the face's operation names and its error codes.
/// Anything else is counted as "other" (a numeric status as its class, "2xx"), so that no client can add
/// series or text to the scrape; object names, keys and credentials are never labels.
/// </summary>
public sealed class Metrics
{
    public const string Other = "other";
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private readonly ConcurrentDictionary<(MetricFace Face, string Operation, string Code), Counter> _requests = new();
    private readonly ConcurrentDictionary<(MetricFace Face, string Operation), Histogram> _latency = new();
    private readonly ConcurrentDictionary<MetricFace, (FrozenSet<string> Operations, FrozenSet<string> Codes)> _labels = new();
    private long _bytesIn;
    private long _bytesOut;
    private readonly ConcurrentDictionary<string, (string Type, string Help, Func<double> Read)> _scraped = new();

    /// <summary>The operation names and result codes a face may be counted with (its route and error tables).</summary>
    public void Declare(MetricFace face, IEnumerable<string> operations, IEnumerable<string> codes) =>
        _labels[face] = (operations.ToFrozenSet(StringComparer.Ordinal), codes.ToFrozenSet(StringComparer.Ordinal));

    public void Request(MetricFace face, string operation, string code, TimeSpan elapsed)
    {
        var (operations, codes) = _labels.TryGetValue(face, out var declared) ? declared : (FrozenSet<string>.Empty, FrozenSet<string>.Empty);
        operation = operations.Contains(operation) ? operation : Other;
        code = codes.Contains(code) ? code : StatusClass(code);
        _requests.GetOrAdd((face, operation, code), _ => new Counter()).Add(1);
        _latency.GetOrAdd((face, operation), _ => new Histogram(LatencyBuckets.Length)).Observe(elapsed.TotalSeconds, LatencyBuckets);
    }

    private static string StatusClass(string code) =>
        code.Length == 3 && code[0] is >= '1' and <= '5' && char.IsAsciiDigit(code[1]) && char.IsAsciiDigit(code[2]) ? code[0] + "xx" : Other;

    public static string Label(MetricFace face) => face switch
    {
        MetricFace.S3 => "s3",
        MetricFace.Kms => "kms",
        MetricFace.Admin => "admin",
        MetricFace.Cse => "cse",
        MetricFace.Ekm => "ekm",
        MetricFace.Xks => "xks",
        MetricFace.Dke => "dke",
        _ => Other,
    };

    /// <summary>A label value in the text exposition format: backslash, double quote and line feed escaped.
    /// Declared labels never need it; it keeps the format intact should one ever do.</summary>
    public static string Escape(string value) =>
        value.AsSpan().IndexOfAny('\\', '"', '\n') < 0 ? value : value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    public void BytesIn(long n) => Interlocked.Add(ref _bytesIn, n);
    public void BytesOut(long n) => Interlocked.Add(ref _bytesOut, n);

    /// <summary>A counter kept elsewhere (the key manager, a background job), read at scrape time.</summary>
    public void AddCounter(string name, string help, Func<double> read) => _scraped[name] = ("counter", help, read);

    /// <summary>A gauge kept elsewhere, read at scrape time.</summary>
    public void AddGauge(string name, string help, Func<double> read) => _scraped[name] = ("gauge", help, read);

    /// <summary>
    /// A series per value of one label, read at scrape time; the values are a closed set fixed here (e.g. the configured
    /// backend names), never taken from a request.
    /// </summary>
    public void AddLabeled(string type, string name, string help, string label, IReadOnlyList<string> values, Func<string, double> read) =>
        _labeled[name] = (type, help, label, values, read);

    private readonly ConcurrentDictionary<string, (string Type, string Help, string Label, IReadOnlyList<string> Values, Func<string, double> Read)> _labeled = new();

    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append("# HELP coffre_requests_total Requests answered, by face, operation and result code.\n# TYPE coffre_requests_total counter\n");
        foreach (var ((f, o, k), c) in _requests.OrderBy(k => k.Key))
        {
            var (face, op, code) = (Escape(Label(f)), Escape(o), Escape(k));
            sb.Append(CultureInfo.InvariantCulture, $"coffre_requests_total{{face=\"{face}\",operation=\"{op}\",code=\"{code}\"}} {c.Value}\n");
        }
        sb.Append("# HELP coffre_request_duration_seconds Request latency.\n# TYPE coffre_request_duration_seconds histogram\n");
        foreach (var ((f, o), h) in _latency.OrderBy(k => k.Key))
        {
            var (face, op) = (Escape(Label(f)), Escape(o));
            long cumulative = 0;
            for (var i = 0; i < LatencyBuckets.Length; i++)
            {
                cumulative += Interlocked.Read(ref h.Buckets[i]);
                sb.Append(CultureInfo.InvariantCulture, $"coffre_request_duration_seconds_bucket{{face=\"{face}\",operation=\"{op}\",le=\"{LatencyBuckets[i]}\"}} {cumulative}\n");
            }
            cumulative += Interlocked.Read(ref h.Buckets[^1]);
            sb.Append(CultureInfo.InvariantCulture, $"coffre_request_duration_seconds_bucket{{face=\"{face}\",operation=\"{op}\",le=\"+Inf\"}} {cumulative}\n");
            sb.Append(CultureInfo.InvariantCulture, $"coffre_request_duration_seconds_sum{{face=\"{face}\",operation=\"{op}\"}} {h.Sum}\n");
            sb.Append(CultureInfo.InvariantCulture, $"coffre_request_duration_seconds_count{{face=\"{face}\",operation=\"{op}\"}} {cumulative}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"# HELP coffre_s3_received_bytes_total Plaintext bytes received in S3 request bodies.\n# TYPE coffre_s3_received_bytes_total counter\ncoffre_s3_received_bytes_total {Interlocked.Read(ref _bytesIn)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"# HELP coffre_s3_sent_bytes_total Plaintext bytes sent in S3 response bodies.\n# TYPE coffre_s3_sent_bytes_total counter\ncoffre_s3_sent_bytes_total {Interlocked.Read(ref _bytesOut)}\n");
        foreach (var (name, (type, help, read)) in _scraped.OrderBy(g => g.Key))
            sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name} {read()}\n");
        foreach (var (name, (type, help, label, values, read)) in _labeled.OrderBy(g => g.Key))
        {
            sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
            foreach (var value in values) sb.Append(CultureInfo.InvariantCulture, $"{name}{{{label}=\"{Escape(value)}\"}} {read(value)}\n");
        }
        return sb.ToString();
    }

    private sealed class Counter
    {
        private long _value;
        public long Value => Interlocked.Read(ref _value);
        public void Add(long n) => Interlocked.Add(ref _value, n);
    }

    private sealed class Histogram(int bounds)
    {
        public readonly long[] Buckets = new long[bounds + 1];
        private long _sumMicros;
        public double Sum => Interlocked.Read(ref _sumMicros) / 1e6;

        public void Observe(double seconds, double[] limits)
        {
            var i = 0;
            while (i < limits.Length && seconds > limits[i]) i++;
            Interlocked.Increment(ref Buckets[i]);
            Interlocked.Add(ref _sumMicros, (long)(seconds * 1e6));
        }
    }
}
