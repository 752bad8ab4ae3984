using System.Text.Json;
using Coffre.Kms.Access;

namespace Coffre.Server.Admin;

/// <summary>Grants as the admin API and the CLI carry them (JSON, camelCase). Absent lists are empty, except
/// <see cref="KmsOperations"/> in a new key's grants, where absent means every use operation.</summary>
public sealed record GrantsBody(
    IReadOnlyList<string>? ReadBuckets = null,
    IReadOnlyList<string>? WriteBuckets = null,
    IReadOnlyList<string>? KmsKeys = null,
    IReadOnlyList<string>? KmsOperations = null,
    IReadOnlyList<string>? KmsAdminKeys = null,
    bool Admin = false,
    IReadOnlyList<string>? BypassGovernanceBuckets = null)
{
    /// <summary>The grants of a new access key.</summary>
    public AccessGrants ToGrants() => new()
    {
        ReadBuckets = ReadBuckets ?? [], WriteBuckets = WriteBuckets ?? [], KmsKeys = KmsKeys ?? [],
        KmsOperations = KmsOperations ?? [AccessGrants.Any], KmsAdminKeys = KmsAdminKeys ?? [], Admin = Admin,
        BypassGovernanceBuckets = BypassGovernanceBuckets ?? [],
    };

    /// <summary>A change to existing grants: only what is named.</summary>
    public AccessGrants ToChange() => AccessGrants.Change(ReadBuckets, WriteBuckets, KmsKeys, KmsOperations, KmsAdminKeys, Admin, BypassGovernanceBuckets);

    public static GrantsBody From(AccessGrants g) => new(g.ReadBuckets, g.WriteBuckets, g.KmsKeys, g.KmsOperations, g.KmsAdminKeys, g.Admin, g.BypassGovernanceBuckets);
}

public sealed record CreateAccessKeyBody(string? Description, GrantsBody? Grants);

public sealed record GrantAccessKeyBody(GrantsBody? Add, GrantsBody? Remove);

/// <summary>An access key as the admin API and `coffre access-key ... --json` show it; the secret only from create and rotate.</summary>
public sealed record AccessKeyBody(
    string AccessKeyId,
    string? Description,
    GrantsBody Grants,
    DateTimeOffset Created,
    string CreatedBy,
    DateTimeOffset Updated,
    DateTimeOffset? Revoked,
    long Revision,
    string? SecretAccessKey = null)
{
    public static AccessKeyBody From(AccessKeyInfo k, string? secret = null) =>
        new(k.AccessKeyId, k.Description, GrantsBody.From(k.Grants), k.Created, k.CreatedBy, k.Updated, k.Revoked, k.Revision, secret);

    public override string ToString() => $"AccessKeyBody({AccessKeyId})"; // never the secret
}

public sealed record AccessKeyListBody(IReadOnlyList<AccessKeyBody> AccessKeys);

public sealed record AdminErrorBody(string Code, string Message);

/// <summary>One part of an unseal: a Shamir share, or the passphrase of a passphrase root; or <see cref="Reset"/> to start over.</summary>
public sealed record UnsealBody(string? Share = null, string? Passphrase = null, bool Reset = false, string? Pin = null)
{
    public override string ToString() => $"UnsealBody(reset {Reset})"; // never the share, passphrase or PIN
}

/// <summary>Seal status: <c>root</c> is passphrase or shamir; <c>progress</c> shares of <c>threshold</c> are in.</summary>
public sealed record SealStatusBody(bool Sealed, string Root, int Threshold, int Shares, int Progress);

public static class AdminJson
{
    public const string ContentType = "application/json";

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
