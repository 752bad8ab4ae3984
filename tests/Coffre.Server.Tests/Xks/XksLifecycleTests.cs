using Coffre.Kms.Keys;
using Microsoft.Data.Sqlite;
using static Coffre.Server.Tests.Xks.XksTestServer;

namespace Coffre.Server.Tests.Xks;

/// <summary>The XKS face under the key lifecycle (destruction scheduled, a version disabled), credential rotation, and
/// an audit trail that cannot be written (no audit, no answer).</summary>
public sealed class XksLifecycleTests : IAsyncLifetime
{
    private const string NewAccessKeyId = "XKSROTATEDACCESSKEY234567";
    private const string NewSecret = "cm90YXRlZC1zZWNyZXQtb2YtdGhlLXhrcy1zdG9yZS0wMQ==";
    private XksTestServer _xks = null!;
    private static readonly byte[] Plaintext = Utf8("a data key");

    public async Task InitializeAsync() => _xks = await StartAsync(o =>
        o.Xks.Stores[0].AdditionalCredentials.Add(new() { AccessKeyId = NewAccessKeyId, SecretAccessKey = NewSecret }));

    public async Task DisposeAsync() => await _xks.DisposeAsync();

    [Fact]
    public async Task A_key_scheduled_for_destruction_is_invalid_state_and_reported_disabled()
    {
        var encrypted = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(Plaintext));
        _xks.Keys.ScheduleDestruction("finance", TimeSpan.FromDays(7), KeyManager.SystemPrincipal);
        Assert.Equal("InvalidStateException", (await _xks.PostAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted))).ErrorName);
        Assert.Equal("InvalidStateException", (await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(Plaintext))).ErrorName);
        var metadata = await _xks.PostAsync(_xks.Url("keys/foo/metadata"), new { requestMetadata = Metadata("DescribeKey") });
        Assert.Equal("DISABLED", metadata.Body.GetProperty("keyStatus").GetString());
    }

    [Fact]
    public async Task A_disabled_version_refuses_its_ciphertexts_while_the_primary_serves()
    {
        var old = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(Plaintext));
        _xks.Keys.RotateKey("finance", KeyManager.SystemPrincipal);
        _xks.Keys.DisableKeyVersion("finance", 1, KeyManager.SystemPrincipal);
        var refused = await _xks.PostAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(old));
        Assert.Equal((400, "InvalidStateException"), (refused.Status, refused.ErrorName));
        var fresh = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(Plaintext));
        Assert.Equal(Plaintext, (await _xks.PostAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(fresh))).Bytes("plaintext"));
    }

    [Fact]
    public async Task Both_credentials_of_a_store_are_accepted_while_they_are_rotated()
    {
        Assert.Equal(200, (await _xks.CurlAsync(_xks.Url("health"), new { requestMetadata = Metadata("KmsHealthCheck") })).Status);
        Assert.Equal(200, (await _xks.CurlAsync(_xks.Url("health"), new { requestMetadata = Metadata("KmsHealthCheck") }, NewAccessKeyId, NewSecret)).Status);
    }

    [Fact]
    public async Task No_audit_no_answer()
    {
        var encrypted = await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(Plaintext));
        var keysDb = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_xks.Gateway.DataDirectory, Coffre.Sqlite.Kms.SqliteKeyDatabase.FileName), Pooling = false }.ToString();
        Sql(keysDb, "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'x'); END;");
        try
        {
            var decrypt = await _xks.PostAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted));
            Assert.Equal((500, "InternalException"), (decrypt.Status, decrypt.ErrorName));
            Assert.False(decrypt.Body.TryGetProperty("plaintext", out _));
            Assert.Equal("InternalException", (await _xks.PostAsync(_xks.Url("keys/foo/encrypt"), EncryptBody(Plaintext))).ErrorName);
            // A refusal that cannot be recorded is not answered as the refusal either.
            Assert.Equal("InternalException", (await _xks.PostAsync(_xks.Url("keys/nope/encrypt"), EncryptBody(Plaintext))).ErrorName);
        }
        finally
        {
            Sql(keysDb, "DROP TRIGGER refuse_audit;");
        }
        Assert.Equal(Plaintext, (await _xks.PostAsync(_xks.Url("keys/foo/decrypt"), DecryptBody(encrypted))).Bytes("plaintext"));
    }

    private static void Sql(string connectionString, string sql)
    {
        using var c = new SqliteConnection(connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
