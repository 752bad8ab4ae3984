using Coffre.Kms.Store;

namespace Coffre.Persistence.Tests.Kms;

/// <summary>The behaviour every <see cref="ILeaseStore"/> must have: one holder at a time, takeover after expiry with a
/// greater fencing token, a stale holder told so. One subclass per implementation; each instance is another handle
/// on the same database, as another process or server has.</summary>
public abstract class LeaseStoreContractTests : KeyDatabaseContract
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    /// <summary>Polls until <paramref name="holder"/> gets the lease (the previous one expired on the database's clock).</summary>
    private static async Task<Lease> AcquireWhenExpiredAsync(ILeaseStore store, string name, string holder)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await store.TryAcquireAsync(name, holder, Long) is { } lease) return lease;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{holder} never got the lease {name}");
    }

    [Fact]
    public async Task One_holder_at_a_time_and_a_renewal_keeps_the_token_and_moves_the_expiry()
    {
        var a = Database.Leases;
        var b = OpenAgain().Leases;
        var first = await a.TryAcquireAsync("rewrap", "instance-a", TimeSpan.FromMinutes(1));
        Assert.NotNull(first);
        Assert.Equal(("rewrap", "instance-a"), (first.Name, first.Holder));
        Assert.Null(await b.TryAcquireAsync("rewrap", "instance-b", Long));
        var renewed = await a.TryAcquireAsync("rewrap", "instance-a", Long);
        Assert.NotNull(renewed);
        Assert.Equal(first.Token, renewed.Token);
        Assert.True(renewed.Expires > first.Expires);
        Assert.True(await b.IsHeldAsync(renewed));
        // Another job's lease is another row.
        Assert.NotNull(await b.TryAcquireAsync("checkpoint", "instance-b", Long));
    }

    [Fact]
    public async Task An_expired_lease_passes_to_another_holder_with_a_greater_token_and_the_stale_holder_is_told()
    {
        var a = Database.Leases;
        var b = OpenAgain().Leases;
        var stale = (await a.TryAcquireAsync("rewrap", "instance-a", Short))!;
        var taken = await AcquireWhenExpiredAsync(b, "rewrap", "instance-b");
        Assert.True(taken.Token > stale.Token);
        Assert.False(await a.IsHeldAsync(stale));
        Assert.True(await a.IsHeldAsync(taken));
        // The stale holder can neither renew nor release the new holder's lease.
        Assert.Null(await a.TryAcquireAsync("rewrap", "instance-a", Long));
        await a.ReleaseAsync(stale);
        Assert.True(await b.IsHeldAsync(taken));
    }

    [Fact]
    public async Task A_released_lease_is_free_at_once_and_a_later_holder_gets_a_greater_token()
    {
        var a = Database.Leases;
        var b = OpenAgain().Leases;
        var first = (await a.TryAcquireAsync("gc", "instance-a", Long))!;
        await a.ReleaseAsync(first);
        Assert.False(await a.IsHeldAsync(first));
        var second = await b.TryAcquireAsync("gc", "instance-b", Long);
        Assert.NotNull(second);
        Assert.True(second.Token > first.Token);
        var third = await a.TryAcquireAsync("gc", "instance-a", Short);
        Assert.Null(third);
    }

    [Fact]
    public async Task Holders_racing_for_a_free_lease_from_several_handles_get_it_once()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => OpenAgain().Leases).ToList();
        var grants = await Task.WhenAll(stores.Select((s, i) => Task.Run(() => s.TryAcquireAsync("rotation", $"instance-{i}", Long))));
        var winner = Assert.Single(grants, g => g is not null);
        Assert.Equal(1, winner!.Token);
    }
}

public sealed class SqliteLeaseStoreTests : LeaseStoreContractTests
{
    protected override Task<string> NewDatabaseAsync() => SqliteKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => SqliteKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => SqliteKeyDatabases.Open(location, deploymentId);
}

public sealed class PostgresLeaseStoreTests : LeaseStoreContractTests
{
    protected override Task<string> NewDatabaseAsync() => PostgresKeyDatabases.NewAsync();
    protected override IKeyDatabase Create(string location, string deploymentId) => PostgresKeyDatabases.Create(location, deploymentId);
    protected override IKeyDatabase Open(string location, string deploymentId) => PostgresKeyDatabases.Open(location, deploymentId);
}
