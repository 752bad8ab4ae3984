using System.Collections.Concurrent;

namespace Coffre.Storage.Placement;

/// <summary>
/// What the placement layer has seen of each backend: whether its last call succeeded, how many failed, and moving
/// averages of how fast it answers: every call, and the opening of reads alone. Reads prefer healthy backends that
/// open reads fast; /healthz and /metrics show it per backend.
/// </summary>
/// <remarks>
/// Reads are ordered by read latency only: a write's latency is that of a whole body and of the slowest copy it waits
/// with, so ordering reads by it sent a two-copy bucket's reads to whichever backend had looked fast while writing
/// (docs/benchmarks.md, placement). A backend not read yet comes first, so that each is measured once.
/// </remarks>
public sealed class BackendHealth
{
    private readonly ConcurrentDictionary<string, State> _states = new(StringComparer.Ordinal);

    public BackendHealth(IEnumerable<string> backends)
    {
        foreach (var b in backends) _states[b] = new State();
    }

    public IReadOnlyCollection<string> Backends => _states.Keys.Order(StringComparer.Ordinal).ToList();

    /// <param name="read">The call opened a read (its latency orders reads).</param>
    public void Succeeded(string backend, TimeSpan elapsed, bool read = false)
    {
        var s = _states[backend];
        lock (s)
        {
            s.Healthy = true;
            s.LatencyMs = Average(s.LatencyMs, elapsed);
            if (read) s.ReadLatencyMs = Average(s.ReadLatencyMs, elapsed);
        }
    }

    private static double Average(double known, TimeSpan elapsed) => known == 0 ? elapsed.TotalMilliseconds : 0.8 * known + 0.2 * elapsed.TotalMilliseconds;

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
        lock (s) return new BackendStatus(backend, s.Healthy, s.Failures, s.LatencyMs, s.LastError, s.ReadLatencyMs);
    }

    /// <summary>The backends in the order to read from: healthy before unhealthy, then the fastest to open a read first, then by name.</summary>
    public IEnumerable<string> ReadOrder(IEnumerable<string> backends) =>
        backends.Select(Status).OrderBy(s => !s.Healthy).ThenBy(s => s.ReadLatencyMs).ThenBy(s => s.Backend, StringComparer.Ordinal).Select(s => s.Backend);

    private sealed class State
    {
        public bool Healthy = true;
        public long Failures;
        public double LatencyMs;
        public double ReadLatencyMs;
        public string? LastError;
    }
}

/// <summary>One backend's health: its last call's outcome, failures since start, mean latency of recent calls and of recent read openings (0: none yet).</summary>
public sealed record BackendStatus(string Backend, bool Healthy, long Failures, double LatencyMs, string? LastError, double ReadLatencyMs = 0);
