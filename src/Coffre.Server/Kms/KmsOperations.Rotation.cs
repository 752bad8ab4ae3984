using System.Text.Json;

namespace Coffre.Server.Kms;

public sealed partial class KmsOperations
{
    /// <summary>AWS: automatic rotation every 90–2560 days, 365 by default.</summary>
    public const int DefaultRotationDays = 365;

    private async ValueTask EnableKeyRotation(KmsCall c, Utf8JsonWriter w)
    {
        var keyRef = await AuthorizedKeyAsync(c, c.Request.KeyId);
        var days = c.Request.RotationPeriodInDays ?? DefaultRotationDays;
        if (days is < 90 or > 2560) throw Invalid("RotationPeriodInDays", "Member must have value between 90 and 2560", days);
        await _keys.SetRotationPolicyAsync(keyRef, TimeSpan.FromDays(days), c.Principal);
    }

    private async ValueTask DisableKeyRotation(KmsCall c, Utf8JsonWriter w) =>
        await _keys.SetRotationPolicyAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), null, c.Principal);

    private async ValueTask GetKeyRotationStatus(KmsCall c, Utf8JsonWriter w)
    {
        var info = await _keys.DescribeKeyAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), c.Principal);
        w.WriteBoolean("KeyRotationEnabled", info.RotationPeriod is not null);
        w.WriteString("KeyId", _arns.Key(c.Region, info.Id));
        if (info.RotationPeriod is { } p)
        {
            w.WriteNumber("RotationPeriodInDays", (int)Math.Round(p.TotalDays));
            if (info.NextRotation is { } next) KmsJson.WriteTime(w, "NextRotationDate", next);
        }
    }

    private async ValueTask RotateKeyOnDemand(KmsCall c, Utf8JsonWriter w)
    {
        var info = await _keys.RotateKeyAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), c.Principal);
        w.WriteString("KeyId", info.Id);
    }

    /// <summary>One entry per version after the first (each version but the first was made by a rotation).
    /// Coffre does not record whether a rotation was automatic; it reports AUTOMATIC when the key has a
    /// rotation policy and ON_DEMAND otherwise.</summary>
    private async ValueTask ListKeyRotations(KmsCall c, Utf8JsonWriter w)
    {
        var info = await _keys.DescribeKeyAsync(await AuthorizedKeyAsync(c, c.Request.KeyId), c.Principal);
        var rotations = info.Versions.Where(v => v.Version > 1).OrderBy(v => v.Version).ToList();
        var (start, count) = Page(c.Request, rotations.Count);
        w.WriteStartArray("Rotations");
        foreach (var v in rotations.Skip(start).Take(count))
        {
            w.WriteStartObject();
            w.WriteString("KeyId", info.Id);
            KmsJson.WriteTime(w, "RotationDate", v.Created);
            w.WriteString("RotationType", info.RotationPeriod is null ? "ON_DEMAND" : "AUTOMATIC");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WritePageEnd(w, start, count, rotations.Count);
    }
}
