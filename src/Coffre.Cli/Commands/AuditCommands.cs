using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Coffre.Kms.Audit;
using Coffre.Objects;
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
        var bucket = new Option<string?>("--bucket") { Description = "Only records of gateway data-key uses in this bucket" };
        var objectName = new Option<string?>("--object") { Description = "Only records of gateway data-key uses for this object name" };
        var after = new Option<long?>("--after") { Description = "Only records after this sequence number (resume an export where the last one ended)" };
        var limit = new Option<int>("--limit") { Description = "At most this many records", DefaultValueFactory = _ => 1000 };
        var exportLimit = new Option<int?>("--limit") { Description = "At most this many records (default: all)" };
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the newest records to show first", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep running and print new records as they are written, until Ctrl-C" };

        foreach (var o in new Option[] { limit, exportLimit, lines })
            o.Validators.Add(r =>
            {
                // A non-number is already reported by the parser; only range-check what parsed.
                if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, out var n) && n < 1) r.AddError($"{o.Name} must be at least 1.");
            });

        AuditFilter Filter(ParseResult r, int count) => new()
        {
            Key = r.GetValue(key),
            Principal = r.GetValue(principal),
            Operation = r.GetValue(operation),
            From = ParseTime(r.GetValue(since), ago: true),
            To = ParseTime(r.GetValue(until), ago: false),
            Context = ContextFilter(r.GetValue(bucket), r.GetValue(objectName)),
            AfterSequence = r.GetValue(after),
            Limit = count,
        };

        var list = new Command("list", "List audit records, oldest first.") { key, principal, operation, bucket, objectName, since, until, after, limit };
        list.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            using var keys = cli.OpenKeys();
            var records = keys.ReadAudit(Filter(r, r.GetValue(limit)), CliContext.Principal);
            if (cli.Json)
            {
                cli.WriteJson(records.Select(ToJson));
                return Task.FromResult(ExitCodes.Ok);
            }
            var table = new Table().AddColumns("#", "Time (UTC)", "Principal", "Operation", "Key", "Version", "Object", "Result");
            foreach (var a in records)
                table.AddRow(a.Sequence.ToString(CultureInfo.InvariantCulture), a.TimeText, Markup.Escape(a.Principal), a.Operation,
                    Markup.Escape(a.KeyName ?? a.KeyId ?? "-"), a.KeyVersion?.ToString(CultureInfo.InvariantCulture) ?? "-",
                    Markup.Escape(ObjectOf(a) ?? "-"), Markup.Escape(a.Result));
            AnsiConsole.Write(table);
            return Task.FromResult(ExitCodes.Ok);
        }));
        audit.Subcommands.Add(list);

        var tail = new Command("tail", "Show the newest audit records (oldest of them first); with --follow, keep printing new ones as they are written.")
            { key, principal, operation, bucket, objectName, since, until, lines, follow };
        tail.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var keys = cli.OpenKeys();
            var filter = Filter(r, r.GetValue(lines)) with { Newest = true };
            await foreach (var a in keys.StreamAudit(filter, CliContext.Principal, r.GetValue(follow), FollowInterval, ct))
            {
                Console.Out.WriteLine(cli.Json ? JsonLine(a) : Line(a));
                Console.Out.Flush();
            }
            return ExitCodes.Ok;
        }));
        audit.Subcommands.Add(tail);

        var export = new Command("export", "Write every matching audit record as JSON lines (one object per line, oldest first) for a SIEM; " +
            "--after resumes from the last exported sequence number, --follow keeps streaming new records.")
            { key, principal, operation, bucket, objectName, since, until, after, exportLimit, follow };
        export.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var keys = cli.OpenKeys();
            await foreach (var a in keys.StreamAudit(Filter(r, r.GetValue(exportLimit) ?? int.MaxValue), CliContext.Principal, r.GetValue(follow), FollowInterval, ct))
            {
                Console.Out.WriteLine(JsonLine(a));
                if (r.GetValue(follow)) Console.Out.Flush();
            }
            return ExitCodes.Ok;
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

    private static readonly TimeSpan FollowInterval = TimeSpan.FromSeconds(1);

    private static Dictionary<string, string>? ContextFilter(string? bucket, string? name)
    {
        if (bucket is null && name is null) return null;
        var context = new Dictionary<string, string>(StringComparer.Ordinal);
        if (bucket is not null) context[ObjectBinding.BucketContextKey] = bucket;
        if (name is not null) context[ObjectBinding.ObjectContextKey] = name;
        return context;
    }

    /// <summary>"bucket/object" for the gateway's data-key uses (from the record's context), else null.</summary>
    private static string? ObjectOf(AuditRecord a)
    {
        if (a.Context is null || !a.Context.Contains(ObjectBinding.BucketContextKey, StringComparison.Ordinal)) return null;
        try
        {
            using var doc = JsonDocument.Parse(a.Context);
            var root = doc.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty(ObjectBinding.BucketContextKey, out var b)
                ? b.GetString() + (root.TryGetProperty(ObjectBinding.ObjectContextKey, out var o) ? "/" + o.GetString() : "")
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Line(AuditRecord a) =>
        $"#{a.Sequence} {a.TimeText} {a.Principal} {a.Operation} {a.KeyName ?? a.KeyId ?? "-"}" +
        $"{(a.KeyVersion is { } v ? " v" + v.ToString(CultureInfo.InvariantCulture) : "")}{(ObjectOf(a) is { } o ? " " + o : "")} {a.Result}";

    private static readonly JsonSerializerOptions LineOptions = new(CliContext.JsonOptions) { WriteIndented = false };

    private static string JsonLine(AuditRecord a) => JsonSerializer.Serialize(ToJson(a), LineOptions);

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
