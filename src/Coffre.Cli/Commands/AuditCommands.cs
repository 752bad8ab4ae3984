using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Security.Cryptography;
using Coffre.Kms.Audit;
using Coffre.Objects;
using Coffre.Server.Audit;
using Coffre.Server.Hosting;
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
        var face = new Option<string?>("--face") { Description = "Only records of this protocol face (" + string.Join(", ", AuditFace.All) + "), by the record's coffre:face" };
        face.AcceptOnlyFromAmong([.. AuditFace.All]);
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
            Context = ContextFilter(r.GetValue(bucket), r.GetValue(objectName), r.GetValue(face)),
            AfterSequence = r.GetValue(after),
            Limit = count,
        };

        var list = new Command("list", "List audit records, oldest first.") { key, principal, operation, face, bucket, objectName, since, until, after, limit };
        list.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            var records = keys.ReadAudit(Filter(r, r.GetValue(limit)), CliContext.Principal);
            if (cli.Json)
            {
                cli.WriteJson(records.Select(ToJson));
                return Task.FromResult(ExitCodes.Ok);
            }
            var table = new Table().AddColumns("#", "Time (UTC)", "Face", "Principal", "Operation", "Key", "Version", "Object", "Result");
            foreach (var a in records)
                table.AddRow(a.Sequence.ToString(CultureInfo.InvariantCulture), a.TimeText, Markup.Escape(FaceOf(a) ?? "-"), Markup.Escape(a.Principal), a.Operation,
                    Markup.Escape(a.KeyName ?? a.KeyId ?? "-"), a.KeyVersion?.ToString(CultureInfo.InvariantCulture) ?? "-",
                    Markup.Escape(ObjectOf(a) ?? "-"), Markup.Escape(a.Result));
            AnsiConsole.Write(table);
            return Task.FromResult(ExitCodes.Ok);
        }));
        audit.Subcommands.Add(list);

        var tail = new Command("tail", "Show the newest audit records (oldest of them first); with --follow, keep printing new ones as they are written.")
            { key, principal, operation, face, bucket, objectName, since, until, lines, follow };
        tail.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var deployment = cli.Open();
            var keys = deployment.Keys;
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
            { key, principal, operation, face, bucket, objectName, since, until, after, exportLimit, follow };
        export.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            await foreach (var a in keys.StreamAudit(Filter(r, r.GetValue(exportLimit) ?? int.MaxValue), CliContext.Principal, r.GetValue(follow), FollowInterval, ct))
            {
                Console.Out.WriteLine(JsonLine(a));
                if (r.GetValue(follow)) Console.Out.Flush();
            }
            return ExitCodes.Ok;
        }));
        audit.Subcommands.Add(export);

        var publicKey = new Option<string?>("--public-key") { Description = "The checkpoint public key (PEM) you kept: findings if keys.db or a published checkpoint uses another" };
        var fingerprint = new Option<string?>("--fingerprint") { Description = "The SHA-256 fingerprint of the checkpoint key you kept (as printed by `coffre audit checkpoint`)" };
        var checkpointFiles = new Option<string[]>("--checkpoint-file")
            { Description = "Also compare with the checkpoints in this file (e.g. your SIEM's copy); repeatable", AllowMultipleArgumentsPerToken = false };
        var staleAfter = new Option<string?>("--stale-after") { Description = "A newest checkpoint older than this is a finding (default: two maintenance intervals)" };
        var verify = new Command("verify",
            "Check the hash chain (any edited, deleted, inserted or reordered record is found and named), the chain of signed checkpoints " +
            "(records cut off or rewritten up to a checkpoint, checkpoints forged or removed), and compare keys.db with the newest checkpoints " +
            "published outside it (backend, checkpoint file): records or checkpoints removed since, a replaced signing key, signing that stopped. " +
            "Exit code 6 on any finding.") { publicKey, fingerprint, checkpointFiles, staleAfter };
        verify.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var pinned = PinnedFingerprint(r.GetValue(publicKey), r.GetValue(fingerprint));
            var options = CoffreConfiguration.Load(cli.DataDirectory);
            var stale = r.GetValue(staleAfter) is { } text ? Durations.Parse(text) : 2 * options.MaintenanceInterval;
            using var deployment = cli.Open();
            var status = await AuditStatus.CheckAsync(deployment, options,
                (r.GetValue(checkpointFiles) ?? []).Select(f => new FileCheckpointSink(Path.GetFullPath(f))), pinned, stale, CliContext.Principal, ct);
            var (chain, signed, published) = (status.Chain, status.Checkpoints, status.Published);
            var failed = status.Failed;
            var ok = status.Ok;
            if (cli.Json)
                cli.WriteJson(new
                {
                    ok,
                    recordsChecked = chain.RecordsChecked,
                    checkpointsChecked = signed.RecordsChecked,
                    checkpointKeyFingerprint = status.CheckpointKeyFingerprint,
                    firstBadSequence = failed?.FirstBadSequence,
                    reason = failed?.Reason,
                    published = published.Sinks.Select(s => new
                    {
                        sink = s.Sink,
                        number = s.Newest?.Checkpoint.Number,
                        sequence = s.Newest?.Checkpoint.Sequence,
                        time = s.Newest?.Checkpoint.TimeText,
                        error = s.Error,
                    }),
                    findings = published.Findings.Select(f => new { code = f.Code, message = f.Message }),
                });
            else if (ok)
            {
                Console.WriteLine($"Audit trail intact: {chain.RecordsChecked} records chained, {signed.RecordsChecked} signed checkpoint(s) verified" +
                    (status.CheckpointKeyFingerprint is { } f ? $" (checkpoint key SHA-256 {f})." : "."));
                foreach (var s in published.Sinks)
                    Console.WriteLine(s.Newest is { Checkpoint: var c }
                        ? $"Newest checkpoint published to {s.Sink}: #{c.Number} (record #{c.Sequence}, {c.TimeText}), present in keys.db."
                        : $"No checkpoint published to {s.Sink} yet.");
            }
            else
            {
                if (failed is not null) Console.Error.WriteLine($"coffre: audit trail broken at record #{failed.FirstBadSequence}: {failed.Reason}");
                foreach (var finding in published.Findings) Console.Error.WriteLine($"coffre: audit finding ({finding.Code}): {finding.Message}");
            }
            return ok ? ExitCodes.Ok : ExitCodes.AuditFailure;
        }));
        audit.Subcommands.Add(verify);

        var checkpoint = new Command("checkpoint",
            "Sign a checkpoint of the newest audit record now and publish it to the backend and the checkpoint file (`coffre serve` does it " +
            "every maintenance interval), and print the checkpoint key's public key: give its fingerprint to your auditors. " +
            "Exit code 10 when a copy could not be published (the checkpoint is signed in keys.db all the same).");
        checkpoint.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var options = CoffreConfiguration.Load(cli.DataDirectory);
            using var deployment = cli.Open();
            var keys = deployment.Keys;
            var checkpointer = Checkpointer(deployment);
            var backend = BackendsConfiguration.Create(options, cli.DataDirectory); // every configured backend holds checkpoints
            AuditCheckpoint? written;
            IReadOnlyList<(string Sink, Exception Error)> unpublished;
            try
            {
                (written, unpublished) = await new AuditCheckpointPublisher(checkpointer, AuditCheckpointSinks.Create(options.Audit, backend)).CheckpointAsync(ct);
            }
            finally
            {
                (backend as IDisposable)?.Dispose();
            }
            if (cli.Json)
                cli.WriteJson(new
                {
                    number = written?.Number, sequence = written?.Sequence, time = written?.TimeText, publicKeyPem = checkpointer.PublicKeyPem(),
                    fingerprint = checkpointer.PublicKeyFingerprint(), unpublished = unpublished.Select(u => new { sink = u.Sink, error = u.Error.Message }),
                });
            else
            {
                Console.WriteLine(written is null ? "The audit trail is empty: nothing to checkpoint." : $"Signed checkpoint #{written.Number} of record #{written.Sequence} at {written.TimeText}.");
                Console.WriteLine(checkpointer.PublicKeyPem());
                Console.WriteLine($"SHA-256 fingerprint: {checkpointer.PublicKeyFingerprint()}");
            }
            foreach (var (sink, error) in unpublished)
                Console.Error.WriteLine($"coffre: the checkpoint could not be published to {sink}: {error.Message}");
            return unpublished.Count == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        }));
        audit.Subcommands.Add(checkpoint);
        return audit;
    }

    /// <summary>The fingerprint an auditor pinned, from --public-key (a PEM file) and/or --fingerprint, which must agree.</summary>
    private static string? PinnedFingerprint(string? publicKeyFile, string? fingerprint)
    {
        string? fromFile = null;
        if (publicKeyFile is not null)
        {
            try
            {
                var pem = PemEncoding.Find(File.ReadAllText(publicKeyFile));
                fromFile = AuditCheckpoint.Fingerprint(Convert.FromBase64String(File.ReadAllText(publicKeyFile)[pem.Base64Data]));
            }
            catch (ArgumentException)
            {
                throw new CliException(ExitCodes.Usage, $"{publicKeyFile} holds no PEM public key: give the file `coffre audit checkpoint` printed.");
            }
        }
        if (fingerprint is not null && (fingerprint.Length != 64 || !fingerprint.All(char.IsAsciiHexDigit)))
            throw new CliException(ExitCodes.Usage, $"--fingerprint '{fingerprint}' is not a SHA-256 fingerprint (64 hexadecimal digits).");
        if (fromFile is not null && fingerprint is not null && !string.Equals(fromFile, fingerprint, StringComparison.OrdinalIgnoreCase))
            throw new CliException(ExitCodes.Usage, $"--public-key has fingerprint {fromFile}, not the --fingerprint {fingerprint}: give one of them.");
        return (fromFile ?? fingerprint)?.ToLowerInvariant();
    }

    private static AuditCheckpointer Checkpointer(Deployment deployment) => new(deployment.Keys, deployment.Audit);

    private static readonly TimeSpan FollowInterval = TimeSpan.FromSeconds(1);

    private static Dictionary<string, string>? ContextFilter(string? bucket, string? name, string? face)
    {
        if (bucket is null && name is null && face is null) return null;
        var context = new Dictionary<string, string>(StringComparer.Ordinal);
        if (face is not null) context[AuditFace.ContextMember] = face;
        if (bucket is not null) context[ObjectBinding.BucketContextKey] = bucket;
        if (name is not null) context[ObjectBinding.ObjectContextKey] = name;
        return context;
    }

    /// <summary>
    /// The face a record came through: its <c>coffre:face</c>, else "s3" for the gateway's data-key uses recorded before
    /// the S3 face recorded the member (their context is only the object binding: docs/format.md §8), else null.
    /// </summary>
    public static string? FaceOf(AuditRecord a) => AuditFace.Of(a.Context) ?? (ObjectOf(a) is null ? null : AuditFace.S3);

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
        face = FaceOf(a),
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
