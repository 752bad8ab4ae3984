namespace Coffre.Kms.Keys;

/// <summary>
/// What else must agree before a key is destroyed: data the key protects that may not be lost yet (object versions under
/// S3 Object Lock). Asked when the destruction is scheduled and again when it falls due; a refusal says why and what to do.
/// </summary>
public interface IKeyDestructionGuard
{
    /// <summary>Null when the key may be destroyed; otherwise why not, naming what the key still protects.</summary>
    Task<string?> RefusalAsync(string keyId, CancellationToken ct = default);
}
