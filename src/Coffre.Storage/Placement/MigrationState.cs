using System.Text.Json;

namespace Coffre.Storage.Placement;

/// <summary>
/// What the database says about one bucket's placement, beyond configuration: the backends `coffre migrate` switched it
/// to (overriding the configuration's <c>Backends</c> list), and the migration under way, if any. Every `coffre serve`
/// process reads it (<see cref="MigrationStates.RefreshBound"/>), so that all of them write to both sides of a migration.
/// </summary>
/// <param name="Backends">The candidates that replace the policy's <c>Backends</c>; null: the configuration's.</param>
public sealed record BucketPlacementState(string Bucket, IReadOnlyList<string>? Backends, PlacementMigration? Migration);

/// <summary>Where a migration of a bucket from one backend to another stands; persisted after every page so a killed run resumes.</summary>
/// <param name="Cursor">The last object name whose blobs are done in the current phase (null: none yet).</param>
/// <param name="Objects">Objects copied so far (all phases), for progress.</param>
/// <param name="Bytes">Ciphertext bytes copied so far.</param>
public sealed record PlacementMigration(string From, string To, MigrationPhase Phase, string? Cursor, long Objects, long Bytes,
    bool DeleteSource, DateTimeOffset Started);

/// <summary>The phases of a migration, in order. Writes go to both sides during the first two.</summary>
public enum MigrationPhase
{
    /// <summary>Every object's blobs are copied to the target and verified, in name order.</summary>
    Copying,
    /// <summary>The bucket's placement names the target; every object is checked on the target once more (writes still go to both sides).</summary>
    Verifying,
    /// <summary>Writes go to the new placement only; the source copies are deleted when asked.</summary>
    Deleting,
}

/// <summary>
/// The bucket placement states of a deployment, in its catalog database (SQLite: a table of catalog.db; PostgreSQL:
/// <c>catalog.placement</c>). Implementations pass PlacementStateContractTests. Each call is one transaction.
/// </summary>
public interface IPlacementStateStore
{
    /// <summary>Every bucket with a state, by name.</summary>
    Task<IReadOnlyList<BucketPlacementState>> ListAsync(CancellationToken ct = default);

    Task<BucketPlacementState?> GetAsync(string bucket, CancellationToken ct = default);

    /// <summary>Creates or replaces the bucket's state; a state with neither backends nor migration is removed.</summary>
    Task SaveAsync(BucketPlacementState state, CancellationToken ct = default);
}

/// <summary>The one encoding of states in either database (two text columns), and the bound within which servers see a change.</summary>
public static class MigrationStates
{
    /// <summary>How often every server reads the states again: a change reaches every instance within this bound.</summary>
    public static readonly TimeSpan RefreshBound = TimeSpan.FromSeconds(1);

    private static readonly JsonSerializerOptions Json = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>A state from its row: the bucket and the two text columns.</summary>
    public static BucketPlacementState Decode(string bucket, string? backends, string? migration) =>
        new(bucket, DecodeBackends(backends), DecodeMigration(migration));

    public static string? EncodeBackends(IReadOnlyList<string>? backends) => backends is null ? null : JsonSerializer.Serialize(backends, Json);

    public static IReadOnlyList<string>? DecodeBackends(string? text) => text is null ? null : JsonSerializer.Deserialize<List<string>>(text, Json);

    public static string? EncodeMigration(PlacementMigration? migration) => migration is null ? null : JsonSerializer.Serialize(migration, Json);

    public static PlacementMigration? DecodeMigration(string? text) => text is null ? null : JsonSerializer.Deserialize<PlacementMigration>(text, Json);
}
