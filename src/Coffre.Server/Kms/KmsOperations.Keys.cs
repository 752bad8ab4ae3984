using System.Security.Cryptography;
using System.Text.Json;
using Coffre.Kms.Keys;

namespace Coffre.Server.Kms;

public sealed partial class KmsOperations
{
    /// <summary>Tag naming the Coffre key created by CreateKey; otherwise the name is "kms-" + 16 hex digits.</summary>
    public const string NameTag = "coffre:name";

    private async ValueTask CreateKey(KmsCall c, Utf8JsonWriter w)
    {
        var r = c.Request;
        await AuthorizeOperationAsync(c);
        var (spec, usage) = SpecAndUsage(r);
        if (r.Origin is not null && r.Origin != "AWS_KMS")
            throw new KmsFaceException(KmsErrors.UnsupportedOperation, $"Origin {r.Origin} is not supported: Coffre generates its key material.");
        if (r.MultiRegion == true)
            throw new KmsFaceException(KmsErrors.UnsupportedOperation, "Multi-Region keys are not supported.");
        if (r.Description is { Length: > 8192 }) throw Invalid("Description", "Member must have length less than or equal to 8192");
        var tags = r.Tags?.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        var name = tags is not null && tags.Remove(NameTag, out var n) ? n : "kms-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var info = await _keys.CreateKeyAsync(name, r.Description, c.Principal, tags, spec, usage);
        WriteKeyMetadata(w, c.Region, info);
    }

    /// <summary>KeySpec (or its older name CustomerMasterKeySpec) and KeyUsage of a CreateKey: symmetric or RSA, as AWS names them.</summary>
    private static (KeySpec, KeyUsage) SpecAndUsage(KmsRequest r)
    {
        if (r.KeySpec is not null && r.CustomerMasterKeySpec is not null && r.KeySpec != r.CustomerMasterKeySpec)
            throw Invalid("KeySpec", "KeySpec and CustomerMasterKeySpec must agree when both are given");
        var specName = r.KeySpec ?? r.CustomerMasterKeySpec ?? SymmetricDefault;
        var spec = KeySpecs.TryParse(specName) ?? throw new KmsFaceException(KmsErrors.UnsupportedOperation,
            $"KeySpec {specName} is not supported: Coffre keys are {string.Join(", ", KeySpecs.Names)}.");
        var usageName = r.KeyUsage ?? "ENCRYPT_DECRYPT";
        var usage = KeySpecs.TryParseUsage(usageName) ?? throw new KmsFaceException(KmsErrors.UnsupportedOperation,
            $"KeyUsage {usageName} is not supported: Coffre keys are for {string.Join(" or ", KeySpecs.UsageNames)}.");
        if (!spec.IsRsa() && usage != KeyUsage.EncryptDecrypt)
            throw new KmsFaceException(KmsErrors.Validation, $"KeyUsage {usageName} needs an RSA KeySpec; a {SymmetricDefault} key is ENCRYPT_DECRYPT.");
        return (spec, usage);
    }

    private async ValueTask DescribeKey(KmsCall c, Utf8JsonWriter w)
    {
        var keyRef = await AuthorizedKeyAsync(c, c.Request.KeyId);
        WriteKeyMetadata(w, c.Region, await _keys.DescribeKeyAsync(keyRef, c.Principal));
    }

    private async ValueTask ListKeys(KmsCall c, Utf8JsonWriter w)
    {
        await AuthorizeOperationAsync(c);
        var visible = (await _keys.ListKeysAsync(c.Principal))
            .Where(k => k.State != KeyState.Destroyed && _access.MayList(c.Access, k.Id))
            .OrderBy(k => k.Created).ThenBy(k => k.Id, StringComparer.Ordinal).ToList();
        var (start, count) = Page(c.Request, visible.Count);
        w.WriteStartArray("Keys");
        foreach (var k in visible.Skip(start).Take(count))
        {
            w.WriteStartObject();
            w.WriteString("KeyId", k.Id);
            w.WriteString("KeyArn", _arns.Key(c.Region, k.Id));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WritePageEnd(w, start, count, visible.Count);
    }

    private async ValueTask EnableKey(KmsCall c, Utf8JsonWriter w) => await _keys.EnableKeyAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), c.Principal);

    private async ValueTask DisableKey(KmsCall c, Utf8JsonWriter w) => await _keys.DisableKeyAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), c.Principal);

    private async ValueTask ScheduleKeyDeletion(KmsCall c, Utf8JsonWriter w)
    {
        var keyRef = await AuthorizedKeyAsync(c, c.Request.KeyId);
        var days = c.Request.PendingWindowInDays ?? 30;
        if (days is < 7 or > 30) throw Invalid("PendingWindowInDays", "Member must have value between 7 and 30", days);
        var info = await _keys.ScheduleDestructionAsync(keyRef, TimeSpan.FromDays(days), c.Principal);
        w.WriteString("KeyId", _arns.Key(c.Region, info.Id));
        if (info.DestructionDate is { } d) KmsJson.WriteTime(w, "DeletionDate", d);
        w.WriteString("KeyState", KeyStateName(info.State));
        w.WriteNumber("PendingWindowInDays", days);
    }

    private async ValueTask CancelKeyDeletion(KmsCall c, Utf8JsonWriter w)
    {
        // AWS KMS leaves a key whose deletion is cancelled Disabled (the CLI's cancel-destroy restores the previous state).
        var info = await _keys.CancelDestructionAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), c.Principal, leaveDisabled: true);
        w.WriteString("KeyId", _arns.Key(c.Region, info.Id));
    }
}
