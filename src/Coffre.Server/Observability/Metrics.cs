using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Coffre.Server.Observability;

/// <summary>
/// The server's counters, exposed at /metrics in the Prometheus text format. Labels are operation
/// names and error codes, never object names, keys or credentials.
/// </summary>
public sealed class Metrics
{
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private readonly ConcurrentDictionary<(string Face, string Operation, string Code), Counter> _requests = new();
    private readonly ConcurrentDictionary<(string Face, string Operation), Histogram> _latency = new();
    private long _bytesIn;
    private long _bytesOut;
    private readonly ConcurrentDictionary<string, (string Type, string Help, Func<double> Read)> _scraped = new();

    public void Request(string face, string operation, string code, TimeSpan elapsed)
    {
        _requests.GetOrAdd((face, operation, code), _ => new Counter()).Add(1);
        _latency.GetOrAdd((face, operation), _ => new Histogram(LatencyBuckets.Length)).Observe(elapsed.TotalSeconds, LatencyBuckets);
    }

    public void BytesIn(long n) => Interlocked.Add(ref _bytesIn, n);
    public void BytesOut(long n) => Interlocked.Add(ref _bytesOut, n);

    /// <summary>A counter kept elsewhere (the key manager, a background job), read at scrape time.</summary>
    public void AddCounter(string name, string help, Func<double> read) => _scraped[name] = ("counter", help, read);

    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append("# HELP coffre_requests_total Requests answered, by face, operation and result code.\n# TYPE coffre_requests_total counter\n");
        foreach (var ((face, op, code), c) in _requests.OrderBy(k => k.Key))
            sb.Append(CultureInfo.InvariantCulture, $"coffre_requests_total{{face=\"{face}\",operation=\"{op}\",code=\"{code}\"}} {c.Value}\n");
        sb.Append("# HELP coffre_request_duration_seconds Request latency.\n# TYPE coffre_request_duration_seconds histogram\n");
        foreach (var ((face, op), h) in _latency.OrderBy(k => k.Key))
        {
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
