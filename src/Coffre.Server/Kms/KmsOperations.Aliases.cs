using System.Text.Json;
using Coffre.Kms.Keys;

namespace Coffre.Server.Kms;

public sealed partial class KmsOperations
{
    private static string AliasName(KmsRequest r)
    {
        var alias = r.AliasName ?? throw Missing("AliasName");
        if (alias.StartsWith("alias/aws/", StringComparison.Ordinal))
            throw new KmsFaceException(KmsErrors.InvalidAliasName, $"Alias {alias} is reserved for AWS managed keys.");
        if (!KeyNames.IsValidAlias(alias))
            throw new KmsFaceException(KmsErrors.InvalidAliasName,
                $"Alias '{(alias.Length > 100 ? alias[..100] + "..." : alias)}' is not valid: use 'alias/' followed by 1-128 characters of A-Z a-z 0-9 . _ / - (starting with a letter or digit).");
        return alias;
    }

    private async ValueTask CreateAlias(KmsCall c, Utf8JsonWriter w)
    {
        var alias = AliasName(c.Request);
        var target = await AuthorizedKeyAsync(c, c.Request.TargetKeyId, "TargetKeyId");
        if (target.StartsWith(KeyNames.AliasPrefix, StringComparison.Ordinal))
            throw Invalid("TargetKeyId", "Member must be a key id or key ARN, not an alias");
        await _keys.CreateAliasAsync(alias, target, c.Principal);
    }

    private async ValueTask UpdateAlias(KmsCall c, Utf8JsonWriter w)
    {
        var alias = AliasName(c.Request);
        var target = await AuthorizedKeyAsync(c, c.Request.TargetKeyId, "TargetKeyId");
        if (target.StartsWith(KeyNames.AliasPrefix, StringComparison.Ordinal))
            throw Invalid("TargetKeyId", "Member must be a key id or key ARN, not an alias");
        // The principal must also be allowed the key the alias points to now (when it exists).
        if (_keys.TryResolveKeyId(alias) is not null) await _access.CheckAsync(c.Access, c.Principal, c.Operation, alias);
        await _keys.UpdateAliasAsync(alias, target, c.Principal);
    }

    private async ValueTask DeleteAlias(KmsCall c, Utf8JsonWriter w)
    {
        var alias = AliasName(c.Request);
        await AuthorizeOperationAsync(c);
        if (_keys.TryResolveKeyId(alias) is not null) await _access.CheckAsync(c.Access, c.Principal, c.Operation, alias);
        await _keys.DeleteAliasAsync(alias, c.Principal);
    }

    private async ValueTask ListAliases(KmsCall c, Utf8JsonWriter w)
    {
        await AuthorizeOperationAsync(c);
        string? filter = null;
        if (c.Request.KeyId is { } keyId)
        {
            var keyRef = await AuthorizedKeyAsync(c, keyId);
            filter = _keys.TryResolveKeyId(keyRef) ?? throw new KmsFaceException(KmsErrors.NotFound, $"Key '{keyId}' does not exist.");
        }
        var aliases = (await _keys.ListAliasesAsync(c.Principal))
            .Where(a => (filter is null || a.KeyId == filter) && _access.MayList(c.Access, a.KeyId))
            .OrderBy(a => a.Alias, StringComparer.Ordinal).ToList();
        var (start, count) = Page(c.Request, aliases.Count);
        w.WriteStartArray("Aliases");
        foreach (var a in aliases.Skip(start).Take(count))
        {
            w.WriteStartObject();
            w.WriteString("AliasName", a.Alias);
            w.WriteString("AliasArn", _arns.Alias(c.Region, a.Alias));
            w.WriteString("TargetKeyId", a.KeyId);
            KmsJson.WriteTime(w, "CreationDate", a.Created);
            KmsJson.WriteTime(w, "LastUpdatedDate", a.Created);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WritePageEnd(w, start, count, aliases.Count);
    }
}
