using System.Collections.Concurrent;

namespace Coffre.Storage.Placement;

/// <summary>
/// What the placement layer has seen of each backend: whether its last call succeeded, how many failed, and a moving
/// average of how fast it answers. Reads prefer healthy, fast backends; /healthz and /metrics show it per backend.
/// </summary>
public sealed class BackendHealth
{
    private readonly ConcurrentDictionary<string, State> _states = new(StringComparer.Ordinal);

    public BackendHealth(IEnumerable<string> backends)
    {
        foreach (var b in backends) _states[b] = new State();
    }

    public IReadOnlyCollection<string> Backends => _states.Keys.Order(StringComparer.Ordinal).ToList();

    public void Succeeded(string backend, TimeSpan elapsed)
    {
        var s = _states[backend];
        lock (s)
        {
            s.Healthy = true;
            s.LatencyMs = s.LatencyMs == 0 ? elapsed.TotalMilliseconds : 0.8 * s.LatencyMs + 0.2 * elapsed.TotalMilliseconds;
        }
    }

    public void Failed(string backend, string error)
    {
        var s = _states[backend];
        lock (s)
        {
            s.Healthy = false;
            s.Failures++;
            s.LastError = error;
        }
    }

    public BackendStatus Status(string backend)
    {
        var s = _states[backend];
        lock (s) return new BackendStatus(backend, s.Healthy, s.Failures, s.LatencyMs, s.LastError);
    }

    /// <summary>The backends in the order to read from: healthy before unhealthy, then the fastest first, then by name.</summary>
    public IEnumerable<string> ReadOrder(IEnumerable<string> backends) =>
        backends.Select(Status).OrderBy(s => !s.Healthy).ThenBy(s => s.LatencyMs).ThenBy(s => s.Backend, StringComparer.Ordinal).Select(s => s.Backend);

    private sealed class State
    {
        public bool Healthy = true;
        public long Failures;
        public double LatencyMs;
        public string? LastError;
    }
}

/// <summary>One backend's health: its last call's outcome, failures since start, mean latency of recent calls.</summary>
public sealed record BackendStatus(string Backend, bool Healthy, long Failures, double LatencyMs, string? LastError);
