using System.CommandLine;
using Coffre.Server.Hosting;
using Coffre.Storage;
using Coffre.Storage.Placement;
using Spectre.Console;

namespace Coffre.Cli.Commands;

/// <summary>`coffre backends ...`: the configured backends, their facts (catalog and configuration), and whether they work.</summary>
public static class BackendCommands
{
    public static Command Create()
    {
        var backends = new Command("backends", "The configured storage backends: their facts (country, operator, jurisdiction, certifications, legal exposure) and reachability.");

        var list = new Command("list", "Every configured backend with its main facts and the buckets that place copies on it.");
        list.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            var (options, facts, placement) = Load(cli);
            var rows = facts.Values.Select(f => Summary(options, f, placement)).ToList();
            if (cli.Json)
            {
                cli.WriteJson(rows);
                return Task.FromResult(ExitCodes.Ok);
            }
            var table = new Table().AddColumns("Backend", "Type", "Provider", "Country", "Operator", "Jurisdiction", "Certifications", "Default copy");
            foreach (var b in rows)
                table.AddRow(Markup.Escape(b.Name), b.Type, Markup.Escape(b.Provider ?? "-"), Markup.Escape(b.Country ?? "unknown"),
                    Markup.Escape(b.Operator ?? "unknown"), Markup.Escape(b.Jurisdiction is null ? "unknown" : string.Join(",", b.Jurisdiction)),
                    Markup.Escape(string.Join(", ", b.Certifications)), b.DefaultCopy ? "yes" : "");
            AnsiConsole.Write(table);
            return Task.FromResult(ExitCodes.Ok);
        }));
        backends.Subcommands.Add(list);

        var nameArg = new Argument<string>("NAME") { Description = "Backend name (Coffre:Backends:NAME; \"default\" for Coffre:Backend)" };
        var show = new Command("show", "Every fact of one backend, with its origin: the catalog (source and date) or the configuration.") { nameArg };
        show.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            var (options, facts, placement) = Load(cli);
            var f = Find(facts, r.GetValue(nameArg)!);
            var detail = new
            {
                summary = Summary(options, f, placement),
                country = f.Country,
                city = f.City,
                region = f.Region,
                @operator = f.Operator,
                jurisdiction = f.Jurisdiction,
                certifications = f.Certifications,
                exposures = f.Exposures,
            };
            if (cli.Json)
            {
                cli.WriteJson(detail);
                return Task.FromResult(ExitCodes.Ok);
            }
            var s = detail.summary;
            Console.WriteLine($"Backend {s.Name} ({s.Type}): {s.Location}");
            Console.WriteLine($"  provider       {s.Provider ?? "none (facts from configuration only)"}{(f.ProviderName is { } pn ? $" — {pn}" : "")}");
            Console.WriteLine($"  country        {Show(f.Country)}");
            Console.WriteLine($"  city           {Show(f.City)}");
            Console.WriteLine($"  region         {Show(f.Region)}");
            Console.WriteLine($"  operator       {Show(f.Operator)}");
            Console.WriteLine($"  jurisdiction   {(f.Jurisdiction.IsKnown ? string.Join(",", f.Jurisdiction.Value!) + Origin(f.Jurisdiction.Origin, f.Jurisdiction.Source, f.Jurisdiction.Checked) : "unknown")}");
            Console.WriteLine("  certifications " + (f.Certifications.Count == 0 ? "none recorded" : ""));
            foreach (var c in f.Certifications)
                Console.WriteLine($"    {c.Name} {c.Level} {c.Status}, object storage: {(c.CoversObjectStorage is { } cov ? cov ? "covered" : "not covered" : "unknown")}" +
                    $"{(c.Covers(f.Provider) ? " (counts for placement)" : "")}{Origin(c.Origin, c.Source, c.Checked)}");
            Console.WriteLine("  exposures      " + (f.Exposures.Count == 0 ? "none recorded" : ""));
            foreach (var e in f.Exposures) Console.WriteLine($"    {e.Regime}: {e.Status}{Origin(e.Origin, e.Source, e.Checked)}");
            Console.WriteLine($"  copies of      {(s.Buckets.Count == 0 ? "no configured bucket" : string.Join(", ", s.Buckets))}{(s.DefaultCopy ? " and buckets under DefaultPlacement" : "")}");
            return Task.FromResult(ExitCodes.Ok);
        }));
        backends.Subcommands.Add(show);

        var checkArg = new Argument<string?>("NAME") { Description = "Only this backend (default: all)", Arity = ArgumentArity.ZeroOrOne };
        var check = new Command("check",
            $"Reachability and credentials: puts, reads back and deletes a {BackendProbe.ProbeBytes}-byte probe blob under {BlobKeys.ProbePrefix} on each backend. " +
            $"Exit code {ExitCodes.BackendUnavailable} when any fails.") { checkArg };
        check.SetAction((r, ct) => CliContext.RunAsync(async () =>
        {
            var cli = GlobalOptions.Context(r);
            var (options, facts, _) = Load(cli);
            var names = r.GetValue(checkArg) is { } one ? [Find(facts, one).Backend] : facts.Keys.ToList();
            var configured = BackendsConfiguration.Named(options);
            var results = await Task.WhenAll(names.Select(async name =>
            {
                var store = BackendsConfiguration.CreateStore(name, configured[name], cli.DataDirectory);
                try
                {
                    return await BackendProbe.RunAsync(name, store, ct);
                }
                finally
                {
                    (store as IDisposable)?.Dispose();
                }
            }));
            if (cli.Json) cli.WriteJson(results);
            else
                foreach (var p in results)
                    Console.WriteLine(p.Ok ? $"{p.Backend}: ok ({p.ElapsedMs} ms)" : $"{p.Backend}: FAILED at {p.FailedStep}: {p.Error}");
            return results.All(p => p.Ok) ? ExitCodes.Ok : ExitCodes.BackendUnavailable;
        }));
        backends.Subcommands.Add(check);

        var providers = new Command("providers", "The regions of the provider catalog a backend's Provider can name.");
        providers.SetAction((r, ct) => CliContext.RunAsync(() =>
        {
            var cli = GlobalOptions.Context(r);
            var catalog = LoadCatalog(cli.LoadConfiguration());
            var rows = catalog.Regions.OrderBy(x => x.Id, StringComparer.Ordinal).Select(x => new
            {
                id = x.Id,
                provider = x.Provider.Name,
                country = x.Country.Value,
                city = x.City.Value,
                s3Endpoint = x.S3Endpoint.Value,
            }).ToList();
            if (cli.Json) cli.WriteJson(rows);
            else
            {
                var table = new Table().AddColumns("Provider id", "Provider", "Country", "City", "S3 endpoint");
                foreach (var x in rows)
                    table.AddRow(x.id, Markup.Escape(x.provider), x.country ?? "unknown", Markup.Escape(x.city ?? "unknown"), Markup.Escape(x.s3Endpoint ?? "unknown"));
                AnsiConsole.Write(table);
            }
            return Task.FromResult(ExitCodes.Ok);
        }));
        backends.Subcommands.Add(providers);
        return backends;
    }

    private static (CoffreServerOptions Options, IReadOnlyDictionary<string, BackendFacts> Facts, BucketPlacement Placement) Load(CliContext cli)
    {
        var options = cli.LoadConfiguration();
        var catalog = LoadCatalog(options);
        var placement = BackendsConfiguration.Placement(options, catalog);
        // The placements `coffre migrate` switched buckets to override the configuration's Backends lists.
        if (Deployment.OpenPlacementStatesIfAny(cli.Location) is { } states) placement.Apply(states.ListAsync().GetAwaiter().GetResult());
        return (options, BackendsConfiguration.Facts(options, catalog), placement);
    }

    private static ProviderCatalog LoadCatalog(CoffreServerOptions options)
    {
        try
        {
            return BackendsConfiguration.LoadCatalog(options);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(ExitCodes.Failure, e.Message);
        }
    }

    private static BackendFacts Find(IReadOnlyDictionary<string, BackendFacts> facts, string name) => facts.TryGetValue(name, out var f) ? f
        : throw new CliException(ExitCodes.NotFound, $"No backend named '{name}' (configured: {string.Join(", ", facts.Keys)}).");

    private sealed record BackendSummary(string Name, string Type, string Location, string? Provider, string? Country, string? Operator,
        IReadOnlyList<string>? Jurisdiction, IReadOnlyList<string> Certifications, IReadOnlyList<string> Buckets, bool DefaultCopy);

    private static BackendSummary Summary(CoffreServerOptions options, BackendFacts f, BucketPlacement placement)
    {
        var backend = BackendsConfiguration.Named(options)[f.Backend];
        var location = backend.Type.Equals("s3", StringComparison.OrdinalIgnoreCase)
            ? $"s3 {backend.S3?.Endpoint}/{backend.S3?.Bucket}/{backend.S3?.KeyPrefix}"
            : "local " + (backend.Path ?? "(data directory)");
        var buckets = options.Buckets.Keys.Where(b => placement.Decide(b).Copies.Contains(f.Backend))
            .Union(placement.SwitchedBuckets.Where(b => placement.Decide(b).Copies.Contains(f.Backend))).Order(StringComparer.Ordinal).ToList();
        return new BackendSummary(f.Backend, backend.Type.ToLowerInvariant(), location, f.Provider, f.Country.Value, f.Operator.Value,
            f.Jurisdiction.Value, f.Certifications.Where(c => c.Covers(f.Provider)).Select(c => c.Name).Distinct().ToList(), buckets,
            placement.Decide(null).Copies.Contains(f.Backend));
    }

    private static string Show(Fact<string> fact) => fact.IsKnown ? fact.Value + Origin(fact.Origin, fact.Source, fact.Checked) : "unknown";

    private static string Origin(FactOrigin origin, string? source, string? checkedOn) => origin switch
    {
        FactOrigin.Catalog => $"  [catalog: {source}, checked {checkedOn}]",
        FactOrigin.Configuration => "  [stated in configuration]",
        _ => "",
    };
}
