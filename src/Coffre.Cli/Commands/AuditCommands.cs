using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Coffre.Kms.Audit;
using Spectre.Console;

namespace Coffre.Cli.Commands;

/// <summary>`coffre audit ...`: read, export and verify the hash-chained audit trail.</summary>
public static class AuditCommands
{
    public static Command Create()
    {
        var audit = new Command("audit", "Read, export and verify the audit trail of every key operation.");
        var key = new Option<string?>("--key") { Description = "Only records about this key (name or id)" };
        var principal = new Option<string?>("--principal") { Description = "Only records by this principal" };
        var operation = new Option<string?>("--operation") { Description = "Only this operation (e.g. GenerateDataKey)" };
        var since = new Option<string?>("--since") { Description = "From this time (ISO 8601) or this long ago (e.g. 24h)" };
        var until = new Option<string?>("--until") { Description = "Up to this time (ISO 8601)" };
        var limit = new Option<int>("--limit") { Description = "At most this many records", DefaultValueFactory = _ => 1000 };

        limit.Validators.Add(r =>
        {
            // A non-number is already reported by the parser; only range-check what parsed.
            if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, out var n) && n < 1) r.AddError("--limit must be at least 1.");
        });

        AuditFilter Filter(ParseResult r) => new()
        {
            Key = r.GetValue(key),
            Principal = r.GetValue(principal),
            Operation = r.GetValue(operation),
            From = ParseTime(r.GetValue(since), ago: true),
            To = ParseTime(r.GetValue(until), ago: false),
            Limit = r.GetValue(limit),
        };

        var list = new Command("list", "List audit records, oldest first.") { key, principal, operation, since, until, limit };
        list.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            using var keys = cli.OpenKeys();
            var records = keys.ReadAudit(Filter(r), CliContext.Principal);
            if (cli.Json)
            {
                cli.WriteJson(records.Select(ToJson));
                return Task.FromResult(ExitCodes.Ok);
            }
            var table = new Table().AddColumns("#", "Time (UTC)", "Principal", "Operation", "Key", "Version", "Result");
            foreach (var a in records)
                table.AddRow(a.Sequence.ToString(CultureInfo.InvariantCulture), a.TimeText, Markup.Escape(a.Principal), a.Operation,
                    Markup.Escape(a.KeyName ?? a.KeyId ?? "-"), a.KeyVersion?.ToString(CultureInfo.InvariantCulture) ?? "-", Markup.Escape(a.Result));
            AnsiConsole.Write(table);
            return Task.FromResult(ExitCodes.Ok);
        }));
        audit.Subcommands.Add(list);

        var export = new Command("export", "Write audit records as JSON lines (one object per line) for a SIEM.") { key, principal, operation, since, until, limit };
        export.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            using var keys = cli.OpenKeys();
            foreach (var a in keys.ReadAudit(Filter(r), CliContext.Principal))
                Console.Out.WriteLine(JsonSerializer.Serialize(ToJson(a), new JsonSerializerOptions(CliContext.JsonOptions) { WriteIndented = false }));
            return Task.FromResult(ExitCodes.Ok);
        }));
        audit.Subcommands.Add(export);

        var verify = new Command("verify",
            "Check the hash chain (any edited, deleted, inserted or reordered record is found and named) and the signed checkpoints " +
            "(records cut off or rewritten up to a checkpoint, forged checkpoints). Exit code 6 when broken.");
        verify.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            using var keys = cli.OpenKeys();
            var chain = keys.VerifyAudit(CliContext.Principal);
            var checkpointer = Checkpointer(cli, keys);
            var signed = checkpointer.Verify();
            var failed = !chain.Ok ? chain : !signed.Ok ? signed : null;
            if (cli.Json)
                cli.WriteJson(new
                {
                    ok = failed is null,
                    recordsChecked = chain.RecordsChecked,
                    checkpointsChecked = signed.RecordsChecked,
                    checkpointKeyFingerprint = checkpointer.PublicKeyFingerprint(),
                    firstBadSequence = failed?.FirstBadSequence,
                    reason = failed?.Reason,
                });
            else if (failed is null)
                Console.WriteLine($"Audit trail intact: {chain.RecordsChecked} records chained, {signed.RecordsChecked} signed checkpoint(s) verified" +
                    (checkpointer.PublicKeyFingerprint() is { } f ? $" (checkpoint key SHA-256 {f})." : "."));
            else
                Console.Error.WriteLine($"coffre: audit trail broken at record #{failed.FirstBadSequence}: {failed.Reason}");
            return Task.FromResult(failed is null ? ExitCodes.Ok : ExitCodes.AuditFailure);
        }));
        audit.Subcommands.Add(verify);

        var checkpoint = new Command("checkpoint",
            "Sign a checkpoint of the newest audit record now (`coffre serve` does it every maintenance interval), and print the " +
            "checkpoint key's public key: give its fingerprint to your auditors.");
        checkpoint.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            using var keys = cli.OpenKeys();
            var checkpointer = Checkpointer(cli, keys);
            var written = checkpointer.Write();
            if (cli.Json)
                cli.WriteJson(new { sequence = written?.Sequence, time = written?.TimeText, publicKeyPem = checkpointer.PublicKeyPem(), fingerprint = checkpointer.PublicKeyFingerprint() });
            else
            {
                Console.WriteLine(written is null ? "The newest record is already checkpointed." : $"Signed checkpoint of record #{written.Sequence} at {written.TimeText}.");
                Console.WriteLine(checkpointer.PublicKeyPem());
                Console.WriteLine($"SHA-256 fingerprint: {checkpointer.PublicKeyFingerprint()}");
            }
            return Task.FromResult(ExitCodes.Ok);
        }));
        audit.Subcommands.Add(checkpoint);
        return audit;
    }

    private static AuditCheckpointer Checkpointer(CliContext cli, Coffre.Kms.Keys.KeyManager keys) =>
        new(keys, new Coffre.Kms.Store.SqliteAuditCheckpointStore(Path.Combine(cli.DataDirectory, Coffre.Kms.Keys.KeyManager.StoreFileName)));

    private static object ToJson(AuditRecord a) => new
    {
        sequence = a.Sequence,
        time = a.TimeText,
        principal = a.Principal,
        operation = a.Operation,
        keyId = a.KeyId,
        keyName = a.KeyName,
        keyVersion = a.KeyVersion,
        context = a.Context,
        result = a.Result,
        prevHash = Convert.ToHexStringLower(a.PrevHash),
        hash = Convert.ToHexStringLower(a.Hash),
    };

    private static DateTimeOffset? ParseTime(string? text, bool ago)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t;
        if (ago) return DateTimeOffset.UtcNow - Durations.Parse(text);
        throw new CliException(ExitCodes.Usage, $"'{text}' is not an ISO 8601 time.");
    }
}
