namespace Coffre.Kms.Store;

/// <summary>
/// A lease on one named piece of background work, granted to one holder until <see cref="Expires"/> (the database's
/// clock). <see cref="Token"/> is the fencing token: it grows each time the lease passes to another holder, so a holder
/// that was paused past its expiry can tell, before a write, that its lease is no longer the current one.
/// </summary>
public sealed record Lease(string Name, string Holder, long Token, DateTimeOffset Expires);

/// <summary>
/// Leases of background work (rotation, rewrap, garbage collection, audit checkpoints) in the key database, so that
/// of several instances sharing it exactly one runs each job at a time, and another takes the job over when the holder
/// dies (its lease expires). Time is the database's clock, the one clock every instance shares.
/// Implementations throw <see cref="KmsException"/> only (<see cref="KmsError.StoreUnavailable"/> when unreachable).
/// </summary>
public interface ILeaseStore
{
    /// <summary>
    /// Grants <paramref name="name"/> to <paramref name="holder"/> for <paramref name="duration"/> when nobody holds it,
    /// when its lease has expired, or when <paramref name="holder"/> holds it already (a renewal: same token, later
    /// expiry). A grant to a new holder carries a token greater than every earlier one. Null while another holder's
    /// lease runs.
    /// </summary>
    Task<Lease?> TryAcquireAsync(string name, string holder, TimeSpan duration, CancellationToken ct = default);

    /// <summary>Whether <paramref name="lease"/> is still the current, unexpired lease (same holder, same token): the
    /// fencing check before a write that a stale holder must not make.</summary>
    Task<bool> IsHeldAsync(Lease lease, CancellationToken ct = default);

    /// <summary>Ends <paramref name="lease"/> now so that another instance need not wait for its expiry; does nothing
    /// when it has passed to another holder meanwhile.</summary>
    Task ReleaseAsync(Lease lease, CancellationToken ct = default);
}
