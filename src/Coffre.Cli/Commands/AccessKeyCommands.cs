using System.CommandLine;
using Coffre.Cli.AccessKeys;
using Coffre.Server.Admin;
using Spectre.Console;

namespace Coffre.Cli.Commands;

/// <summary>`coffre access-key ...`: access keys managed at run time (docs/operations.md, "Access model").</summary>
public static class AccessKeyCommands
{
    public static Command Create()
    {
        var command = new Command("access-key",
            "Create, list, show, grant, revoke and rotate access keys (S3, KMS and admin API credentials). Offline on the data " +
            "directory (a running server applies the change within Coffre:AccessKeyRefreshInterval), or with --endpoint through a " +
            "running server's admin API, signed with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of a key holding the admin grant.");
        var endpoint = new Option<string?>("--endpoint") { Description = "URL of a running Coffre server: use its admin API instead of the data directory", Recursive = true };
        command.Options.Add(endpoint);

        var id = new Argument<string>("ACCESS_KEY_ID") { Description = "The access key id (20 characters, COFFRE...)" };
        var description = new Option<string?>("--description") { Description = "Free text shown by `access-key show` (who or what uses the key)" };
        var grants = new GrantOptions();

        var create = new Command("create",
            "Create an access key with a generated secret, shown once. It may do nothing beyond what the grant options give it.") { description };
        grants.AddTo(create);
        create.SetAction((r, ct) => Run(r, endpoint, async (cli, admin) =>
        {
            var key = await admin.CreateAsync(new CreateAccessKeyBody(r.GetValue(description), grants.Read(r, forNewKey: true)), ct);
            WriteWithSecret(cli, key, "Created");
        }));
        command.Subcommands.Add(create);

        var list = new Command("list", "List access keys (never their secrets), revoked ones included.");
        list.SetAction((r, ct) => Run(r, endpoint, async (cli, admin) =>
        {
            var all = await admin.ListAsync(ct);
            if (cli.Json)
            {
                cli.WriteJson(all);
                return;
            }
            var table = new Table().AddColumns("Access key id", "State", "Grants", "Description", "Created");
            table.Columns[0].NoWrap();
            foreach (var k in all)
                table.AddRow(k.AccessKeyId, k.Revoked is null ? "active" : "revoked", Markup.Escape(Describe(k.Grants)),
                    Markup.Escape(k.Description ?? ""), k.Created.ToString("u"));
            AnsiConsole.Write(table);
        }));
        command.Subcommands.Add(list);

        var show = new Command("show", "Show an access key's grants and history (never its secret).") { id };
        show.SetAction((r, ct) => Run(r, endpoint, async (cli, admin) => Write(cli, await admin.ShowAsync(r.GetValue(id)!, ct), null)));
        command.Subcommands.Add(show);

        var remove = new Option<bool>("--remove") { Description = "Withdraw the listed grants instead of adding them" };
        var grant = new Command("grant", "Add grants to an access key (or withdraw them with --remove).") { id, remove };
        grants.AddTo(grant);
        grant.SetAction((r, ct) => Run(r, endpoint, async (cli, admin) =>
        {
            var change = grants.Read(r, forNewKey: false);
            var request = r.GetValue(remove) ? new GrantAccessKeyBody(null, change) : new GrantAccessKeyBody(change, null);
            var key = await admin.GrantAsync(r.GetValue(id)!, request, ct);
            Write(cli, key, $"Access key {key.AccessKeyId} now holds: {Describe(key.Grants)}.");
        }));
        command.Subcommands.Add(grant);

        var revoke = new Command("revoke", "Revoke an access key for good: its secret is erased and every request with it is refused.") { id };
        revoke.SetAction((r, ct) => Run(r, endpoint, async (cli, admin) =>
        {
            var key = await admin.RevokeAsync(r.GetValue(id)!, ct);
            Write(cli, key, $"Access key {key.AccessKeyId} revoked.");
        }));
        command.Subcommands.Add(revoke);

        var rotate = new Command("rotate", "Give an access key a new generated secret, shown once; the old secret is refused from now on.") { id };
        rotate.SetAction((r, ct) => Run(r, endpoint, async (cli, admin) => WriteWithSecret(cli, await admin.RotateAsync(r.GetValue(id)!, ct), "Rotated")));
        command.Subcommands.Add(rotate);
        return command;
    }

    /// <summary>The grant options shared by create and grant.</summary>
    private sealed class GrantOptions
    {
        private readonly Option<string[]> _read = Multi("--read-bucket", "Bucket it may read (GET, HEAD, list, copy from); \"*\" for all. Repeatable");
        private readonly Option<string[]> _write = Multi("--write-bucket", "Bucket it may write (PUT, DELETE, multipart, copy to, create, delete); \"*\" for all. Repeatable");
        private readonly Option<string[]> _kmsKey = Multi("--kms-key", "Key it may use (encrypt, decrypt, data keys, describe): name, id, alias or ARN; \"*\" for all. Repeatable");
        private readonly Option<string[]> _kmsOperation = Multi("--kms-operation",
            "Restrict the use of its --kms-key keys to these KMS operations (e.g. Encrypt, GenerateDataKey); default every use operation. Repeatable");
        private readonly Option<string[]> _kmsAdmin = Multi("--kms-admin-key",
            "Key it may administer (enable, disable, schedule deletion, rotation, aliases, tags); \"*\" also allows creating keys. Repeatable");
        private readonly Option<string[]> _bypass = Multi("--bypass-governance",
            "Bucket where it may lift Object Lock GOVERNANCE retention (x-amz-bypass-governance-retention); \"*\" for all. Repeatable");
        private readonly Option<bool> _admin = new("--admin") { Description = "The deployment admin grant: manage access keys through the admin API" };

        private static Option<string[]> Multi(string name, string description) => new(name) { Description = description, Arity = ArgumentArity.ZeroOrMore };

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { _read, _write, _kmsKey, _kmsOperation, _kmsAdmin, _admin, _bypass }) c.Options.Add(o);
        }

        /// <summary>For a new key, no --kms-operation means every use operation; for a change, it means no change to the operations.</summary>
        public GrantsBody Read(ParseResult r, bool forNewKey)
        {
            var ops = r.GetValue(_kmsOperation) ?? [];
            return new GrantsBody(r.GetValue(_read) ?? [], r.GetValue(_write) ?? [], r.GetValue(_kmsKey) ?? [],
                ops.Length == 0 && forNewKey ? null : ops, r.GetValue(_kmsAdmin) ?? [], r.GetValue(_admin), r.GetValue(_bypass) ?? []);
        }
    }

    private static Task<int> Run(ParseResult result, Option<string?> endpoint, Func<CliContext, IAccessKeyAdmin, Task> body) => CliContext.RunAsync(async () =>
    {
        var cli = GlobalOptions.Context(result);
        using IAccessKeyAdmin admin = result.GetValue(endpoint) is { } url
            ? new RemoteAccessKeyAdmin(url)
            : new LocalAccessKeyAdmin(cli.Open());
        await body(cli, admin);
        return ExitCodes.Ok;
    });

    private static void WriteWithSecret(CliContext cli, AccessKeyBody key, string verb)
    {
        if (cli.Json)
        {
            cli.WriteJson(key);
            return;
        }
        Console.WriteLine($"{verb} access key {key.AccessKeyId}.");
        Console.WriteLine($"  Access key id:  {key.AccessKeyId}");
        Console.WriteLine($"  Secret key:     {key.SecretAccessKey}   (shown once: Coffre keeps it sealed and cannot show it again)");
        Console.WriteLine($"  Grants:         {Describe(key.Grants)}");
    }

    private static void Write(CliContext cli, AccessKeyBody key, string? message)
    {
        if (cli.Json)
        {
            cli.WriteJson(key);
            return;
        }
        if (message is not null)
        {
            Console.WriteLine(message);
            return;
        }
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("Access key id", key.AccessKeyId);
        grid.AddRow("State", key.Revoked is { } when ? $"revoked {when:u}" : "active");
        if (key.Description is { } d) grid.AddRow("Description", Markup.Escape(d));
        grid.AddRow("Grants", Markup.Escape(Describe(key.Grants)));
        grid.AddRow("Created", $"{key.Created:u} by {Markup.Escape(key.CreatedBy)}");
        grid.AddRow("Last change", $"{key.Updated:u} (revision {key.Revision})");
        AnsiConsole.Write(grid);
    }

    private static string Describe(GrantsBody g)
    {
        var parts = new List<string>();
        if (g.ReadBuckets is { Count: > 0 } rb) parts.Add("read " + string.Join(",", rb));
        if (g.WriteBuckets is { Count: > 0 } wb) parts.Add("write " + string.Join(",", wb));
        if (g.KmsKeys is { Count: > 0 } k) parts.Add("kms use " + string.Join(",", k) + (g.KmsOperations is { } ops && !ops.SequenceEqual(["*"]) ? $" ({string.Join(",", ops)})" : ""));
        if (g.KmsAdminKeys is { Count: > 0 } a) parts.Add("kms admin " + string.Join(",", a));
        if (g.Admin) parts.Add("admin");
        if (g.BypassGovernanceBuckets is { Count: > 0 } bg) parts.Add("bypass governance " + string.Join(",", bg));
        return parts.Count == 0 ? "nothing" : string.Join("; ", parts);
    }
}
