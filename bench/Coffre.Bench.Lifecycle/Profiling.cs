using System.Diagnostics;
using Coffre.Objects.Keys;
using Coffre.Storage;
using Coffre.TestSupport;

namespace Coffre.Bench.Lifecycle;

/// <summary>Cumulative wall time spent in each stage of a rewrap (summed over concurrent workers).</summary>
public sealed class StageTimes
{
    private long _keyTicks, _blobTicks, _keyCalls, _blobCalls;
    public void Key(long ticks) { Interlocked.Add(ref _keyTicks, ticks); Interlocked.Increment(ref _keyCalls); }
    public void Blob(long ticks) { Interlocked.Add(ref _blobTicks, ticks); Interlocked.Increment(ref _blobCalls); }
    public override string ToString() =>
        $"RewrapDataKey {Ms(_keyTicks, _keyCalls):F2} ms/call ({_keyCalls}), sidecar PutAsync {Ms(_blobTicks, _blobCalls):F2} ms/call ({_blobCalls})";
    private static double Ms(long ticks, long calls) => calls == 0 ? 0 : ticks * 1000.0 / Stopwatch.Frequency / calls;
}

public sealed class TimedDataKeys(IDataKeyService inner, StageTimes times) : IDataKeyService
{
    public DataKeyGrant GenerateDataKey(string keyRef, IReadOnlyDictionary<string, string> context, string principal, IReadOnlyDictionary<string, string>? recorded = null) => inner.GenerateDataKey(keyRef, context, principal, recorded);
    public Task<byte[]> UnwrapDataKeyAsync(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal) => inner.UnwrapDataKeyAsync(wrapped, context, principal);
    public WrappedKeyRef RewrapDataKey(WrappedKeyRef wrapped, IReadOnlyDictionary<string, string> context, string principal)
    {
        var start = Stopwatch.GetTimestamp();
        try { return inner.RewrapDataKey(wrapped, context, principal); }
        finally { times.Key(Stopwatch.GetTimestamp() - start); }
    }
    public string ResolveKeyId(string keyRef) => inner.ResolveKeyId(keyRef);
    public int PrimaryVersion(string keyRef) => inner.PrimaryVersion(keyRef);
    public bool IsEnabled(string keyRef) => inner.IsEnabled(keyRef);
}

/// <summary>Times the rewrapper's only blob write: one sidecar PUT per object.</summary>
public sealed class TimedBlobs(IBlobStore inner, StageTimes times) : DelegatingBlobStore(inner)
{
    public override async Task PutAsync(string key, Stream content, long? length, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        try { await Inner.PutAsync(key, content, length, metadata, cancellationToken); }
        finally { times.Blob(Stopwatch.GetTimestamp() - start); }
    }
}
