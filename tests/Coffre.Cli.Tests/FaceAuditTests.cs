using System.Text.Json;
using Coffre.Kms;
using Coffre.Kms.Keys;
using Coffre.Objects;
using Coffre.Server.Xks;

namespace Coffre.Cli.Tests;

/// <summary>
/// `coffre audit list --face` filters on the records' coffre:face member, and `coffre report keys` says per key which
/// faces used it and when last: records written as the XKS face writes them, and gateway data-key uses (s3).
/// </summary>
public sealed class FaceAuditTests
{
    private const string Xks = "xks:XKSTESTACCESSKEY234567ABCD";

    [Fact]
    public async Task Audit_list_filters_by_face_and_report_keys_shows_each_face_and_its_last_use()
    {
        using var fx = new DataDirFixture();
        using (var deployment = Coffre.Server.Hosting.Deployment.Open(new Coffre.Server.Hosting.DeploymentLocation(fx.Data), Cli.Passphrase))
        {
            var keys = deployment.Keys;
            keys.CreateKey("finance", null, KeyManager.SystemPrincipal);
            keys.CreateKey("archive", null, KeyManager.SystemPrincipal);
            var context = XksRequest.AuditContext("prefix", "foo", [("kmsRequestId", "req-1"), ("awsPrincipalArn", "arn:aws:iam::123456789012:user/Alice")]);
            byte[] Aad(int version) => XksCiphertext.AssociatedData([], XksCiphertext.Metadata(version));
            var made = await keys.EncryptExternalAsync("finance", new byte[32], Aad, Xks, context);
            await keys.DecryptExternalAsync("finance", made.KeyVersion, made.Nonce, made.Ciphertext, made.Tag, Aad(made.KeyVersion), Xks, context);
            keys.DisableKey("finance", KeyManager.SystemPrincipal);
            await Assert.ThrowsAsync<KmsException>(() => keys.EncryptExternalAsync("finance", new byte[32], Aad, Xks, context));
            keys.EnableKey("finance", KeyManager.SystemPrincipal);
            using var dataKey = keys.GenerateDataKey("finance", new Dictionary<string, string>
            {
                [ObjectBinding.BucketContextKey] = "photos", [ObjectBinding.ObjectContextKey] = "cat.jpg",
            }, "AKIAGATEWAYCLIENT01");
        }

        var xks = fx.Run("audit", "list", "--face", "xks", "--json").Json().EnumerateArray().ToList();
        Assert.Equal(["ExternalEncrypt", "ExternalDecrypt", "ExternalEncrypt"], xks.Select(r => r.GetProperty("operation").GetString()));
        Assert.All(xks, r => Assert.Equal(("xks", Xks), (r.GetProperty("face").GetString(), r.GetProperty("principal").GetString())));
        Assert.Equal(["ok", "ok", "Disabled"], xks.Select(r => r.GetProperty("result").GetString()));
        Assert.Contains("req-1", xks[0].GetProperty("context").GetString());
        Assert.Empty(fx.Run("audit", "list", "--face", "cse", "--json").Json().EnumerateArray());
        Assert.Contains("xks", fx.Run("audit", "list", "--face", "xks").Ok().Stdout);
        Assert.Single(fx.Run("audit", "export", "--face", "xks", "--operation", "ExternalDecrypt").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var unknown = fx.Run("audit", "list", "--face", "ftp");
        Assert.NotEqual(0, unknown.ExitCode);

        var report = fx.Run("report", "keys", "--json").Json().EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!);
        var faces = report["finance"].GetProperty("faces").EnumerateArray().ToDictionary(f => f.GetProperty("face").GetString()!);
        Assert.Equal(["s3", "xks"], faces.Keys.Order());
        Assert.Equal((2, 1), (faces["xks"].GetProperty("uses").GetInt64(), faces["xks"].GetProperty("refused").GetInt64()));
        Assert.Equal(1, faces["s3"].GetProperty("uses").GetInt64());
        var lastXks = faces["xks"].GetProperty("lastUse").GetDateTimeOffset();
        Assert.InRange(lastXks, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Empty(report["archive"].GetProperty("faces").EnumerateArray());
        var human = fx.Run("report", "keys").Ok().Stdout;
        // (Columns wrap in a narrow terminal: only words are checked.)
        Assert.True(human.Contains("xks: 2"), human);
    }
}
