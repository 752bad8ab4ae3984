using System.Text.Json;

namespace Coffre.Cli.Tests;

public sealed class KeyTests(DataDirFixture fx) : IClassFixture<DataDirFixture>
{
    private string Plain(string dir)
    {
        var path = Path.Combine(dir, "plain.txt");
        File.WriteAllText(path, "quarterly figures");
        return path;
    }

    private CliResult Encrypt(string key, string dir, string name = "out.cfr") =>
        fx.Run("encrypt", "--key", key, Plain(dir), Path.Combine(dir, name));

    [Fact]
    public void List_json_is_an_array_of_keys_with_names()
    {
        var a = fx.NewKey("list");
        var b = fx.NewKey("list");
        var json = fx.Run("key", "list", "--json").Json();
        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        var names = json.EnumerateArray().Select(k => k.GetProperty("name").GetString()).ToList();
        Assert.Contains(a, names);
        Assert.Contains(b, names);
        foreach (var k in json.EnumerateArray())
        {
            Assert.False(string.IsNullOrEmpty(k.GetProperty("id").GetString()));
            Assert.False(string.IsNullOrEmpty(k.GetProperty("state").GetString()));
        }
        var human = fx.Run("key", "list").Ok();
        Assert.Contains(a, human.Stdout);
    }

    [Fact]
    public void Create_with_an_rsa_spec_and_usage_shows_them_and_refuses_a_symmetric_signing_key()
    {
        var created = fx.Run("key", "create", "cli-signer", "--spec", "RSA_2048", "--usage", "SIGN_VERIFY", "--json").Json();
        Assert.Equal(("RSA_2048", "SIGN_VERIFY"), (created.GetProperty("spec").GetString(), created.GetProperty("usage").GetString()));
        var shown = fx.Run("key", "show", "cli-signer", "--json").Json();
        Assert.Equal("RSA_2048", shown.GetProperty("spec").GetString());
        Assert.Equal("SYMMETRIC_DEFAULT", fx.Run("key", "show", fx.NewKey("sym"), "--json").Json().GetProperty("spec").GetString());
        Assert.NotEqual(0, fx.Run("key", "create", "cli-bad", "--usage", "SIGN_VERIFY").ExitCode);
        Assert.NotEqual(0, fx.Run("key", "create", "cli-bad", "--spec", "ECC_NIST_P256").ExitCode);
    }

    [Fact]
    public void Create_json_show_json_and_rotate_makes_v2_primary()
    {
        var created = fx.Run("key", "create", "rot-key", "--description", "for rotation", "--rotation-period", "90d", "--json").Json();
        Assert.Equal("rot-key", created.GetProperty("name").GetString());
        Assert.Equal("enabled", created.GetProperty("state").GetString());
        Assert.Equal(1, created.GetProperty("primaryVersion").GetInt32());
        Assert.Equal("90d", created.GetProperty("rotationPeriod").GetString());

        var rotated = fx.Run("key", "rotate", "rot-key", "--json").Json();
        Assert.Equal(2, rotated.GetProperty("primaryVersion").GetInt32());

        var show = fx.Run("key", "show", "rot-key", "--json").Json();
        Assert.Equal("for rotation", show.GetProperty("description").GetString());
        Assert.Equal(2, show.GetProperty("primaryVersion").GetInt32());
        var versions = show.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal([1, 2], versions.Select(v => v.GetProperty("version").GetInt32()));
        Assert.All(versions, v => Assert.Equal("enabled", v.GetProperty("state").GetString()));

        // By id as well as by name.
        var byId = fx.Run("key", "show", show.GetProperty("id").GetString()!, "--json").Json();
        Assert.Equal("rot-key", byId.GetProperty("name").GetString());

        var dir = fx.NewDir();
        var enc = Encrypt("rot-key", dir).Ok();
        Assert.Equal("", enc.Stderr);
        var human = fx.Run("key", "show", "rot-key").Ok().Stdout;
        Assert.Contains("rot-key", human);
        Assert.Contains("v2", human);
    }

    [Fact]
    public void Disabled_key_refuses_encrypt_with_exit_4_and_enable_restores_it()
    {
        var key = fx.NewKey("kill");
        var dir = fx.NewDir();
        var disabled = fx.Run("key", "disable", key, "--json").Json();
        Assert.Equal("disabled", disabled.GetProperty("state").GetString());
        var r = Encrypt(key, dir).Fails(4);
        Assert.Contains("disabled", r.Stderr);
        Assert.False(File.Exists(Path.Combine(dir, "out.cfr")));
        Assert.Equal("enabled", fx.Run("key", "enable", key, "--json").Json().GetProperty("state").GetString());
        Encrypt(key, dir).Ok();
    }

    [Fact]
    public void Destroy_schedules_after_7_days_refuses_use_and_cancel_destroy_restores()
    {
        var key = fx.NewKey("shred");
        var dir = fx.NewDir();
        Encrypt(key, dir, "before.cfr").Ok();

        var now = DateTimeOffset.UtcNow;
        var json = fx.Run("key", "destroy", key, "--json").Json();
        Assert.Equal("pending-destruction", json.GetProperty("state").GetString());
        var when = json.GetProperty("destructionDate").GetDateTimeOffset();
        Assert.InRange(when, now.AddDays(7).AddMinutes(-2), now.AddDays(7).AddMinutes(2));
        Assert.Equal("pending-destruction", fx.Run("key", "show", key, "--json").Json().GetProperty("state").GetString());

        Encrypt(key, dir).Fails(4);
        fx.Run("decrypt", Path.Combine(dir, "before.cfr"), Path.Combine(dir, "before.txt")).Fails(4);
        Assert.False(File.Exists(Path.Combine(dir, "before.txt")));
        fx.Run("key", "destroy", key).Fails(4); // already pending: refused, the date does not move

        var back = fx.Run("key", "cancel-destroy", key, "--json").Json();
        Assert.Equal("enabled", back.GetProperty("state").GetString());
        Assert.False(back.TryGetProperty("destructionDate", out _));
        Encrypt(key, dir).Ok();
        fx.Run("decrypt", Path.Combine(dir, "before.cfr"), Path.Combine(dir, "before.txt")).Ok();
        fx.Run("key", "cancel-destroy", key).Fails(1); // not scheduled any more
    }

    [Fact]
    public void Destroy_pending_1d_works_and_1h_is_refused()
    {
        var key = fx.NewKey("pend");
        var r = fx.Run("key", "destroy", key, "--pending", "1h").Fails(1);
        Assert.Contains("at least 1 day", r.Stderr);
        Assert.Equal("enabled", fx.Run("key", "show", key, "--json").Json().GetProperty("state").GetString());
        fx.Run("key", "destroy", key, "--pending", "soon").Fails(1);

        var now = DateTimeOffset.UtcNow;
        var json = fx.Run("key", "destroy", key, "--pending", "1d", "--json").Json();
        var when = json.GetProperty("destructionDate").GetDateTimeOffset();
        Assert.InRange(when, now.AddDays(1).AddMinutes(-2), now.AddDays(1).AddMinutes(2));
    }

    [Fact]
    public void Cancel_destroy_of_a_disabled_key_brings_it_back_disabled()
    {
        var key = fx.NewKey("dis-shred");
        fx.Run("key", "disable", key).Ok();
        fx.Run("key", "destroy", key, "--pending", "2d").Ok();
        Assert.Equal("disabled", fx.Run("key", "cancel-destroy", key, "--json").Json().GetProperty("state").GetString());
    }

    [Fact]
    public void Duplicate_create_exits_5_unknown_key_exits_3_invalid_name_exits_1()
    {
        var key = fx.NewKey("dup");
        fx.Run("key", "create", key).Fails(5);
        fx.Run("key", "create", key, "--json").Fails(5);
        foreach (var verb in new[] { "show", "rotate", "disable", "enable", "destroy", "cancel-destroy" })
            fx.Run("key", verb, "no-such-key").Fails(3);
        fx.Run("encrypt", "--key", "no-such-key", Plain(fx.NewDir()), Path.Combine(fx.NewDir(), "x.cfr")).Fails(3);
        foreach (var bad in new[] { "bad name", "-leading-dash", "alias/x", new string('a', 129), "é" })
            fx.Run("key", "create", bad).Fails(1);
        fx.Run("key", "create", "bad-period", "--rotation-period", "often").Fails(1);
        fx.Run("key", "create", "short-period", "--rotation-period", "12h").Fails(1);
        fx.Run("key", "show", "bad-period").Fails(3);   // a refused create leaves no key behind
        fx.Run("key", "show", "short-period").Fails(3);
    }
}
