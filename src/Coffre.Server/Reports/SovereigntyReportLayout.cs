using System.Globalization;
using Coffre.Storage.Placement;

namespace Coffre.Server.Reports;

/// <summary>The sovereignty report laid out for reading (Markdown and HTML); the JSON is the model itself.</summary>
public static class SovereigntyReportLayout
{
    public static ReportDocument Document(SovereigntyReport report)
    {
        var doc = new ReportDocument("Sovereignty report");
        doc.P($"Deployment {report.DeploymentId}, generated {Time(report.Generated)}. Facts marked [catalog] come from Coffre's provider catalog " +
            "(catalog/providers.json) with their public source and the date they were checked; [configuration] facts are stated by the organisation.");

        doc.H2("Key custody");
        doc.List([$"Root of trust: {report.Custody.RootKind} — {report.Custody.RootDetail}.", $"Key database: {report.Custody.KeyDatabase}.",
            $"Keys: {report.Custody.KeysLocation}."]);

        doc.H2("Audit trail");
        var audit = report.Audit;
        doc.P(audit.Ok
            ? $"Intact: {audit.Records} records chained, {audit.CheckpointsVerified} signed checkpoint(s) verified."
            : $"NOT intact: {audit.Problem ?? "findings below"} ({audit.Records} records, {audit.CheckpointsVerified} checkpoint(s) checked).");
        doc.Table(["Published to", "Newest checkpoint", "Up to record", "Time", "Error"], audit.Published.Select(p => (IReadOnlyList<string>)
            [p.Sink, p.Number?.ToString(CultureInfo.InvariantCulture) ?? "none", p.Sequence?.ToString(CultureInfo.InvariantCulture) ?? "-", p.Time ?? "-", p.Error ?? ""]));
        if (audit.Findings.Count > 0) doc.List(audit.Findings);

        foreach (var bucket in report.Buckets)
        {
            doc.H2($"Bucket {bucket.Name}");
            var policy = bucket.Policy;
            doc.P($"Placement from {bucket.PlacementSource}: {policy.Copies} cop{(policy.Copies == 1 ? "y" : "ies")}" +
                (policy.DistinctBy.Count > 0 ? $", distinct by {string.Join(", ", policy.DistinctBy)}" : "") +
                (policy.Countries.Count > 0 ? $", in {string.Join(", ", policy.Countries)}" : "") +
                (policy.Certifications.Count > 0 ? $", certified {string.Join(", ", policy.Certifications)}" : "") +
                (policy.ForbiddenExposures.Count > 0 ? $", not exposed to {string.Join(", ", policy.ForbiddenExposures)}" : "") + ".");
            doc.H3("Copies");
            doc.Table(["Backend", "Location", "Operator", "Jurisdiction", "Certifications", "Legal exposure"], bucket.Copies.Select(c => (IReadOnlyList<string>)
            [
                $"{c.Backend} ({c.Type}{(c.Facts.Provider is { } p ? ", " + p : "")})",
                $"{Show(c.Facts.Country)}\n{Show(c.Facts.City)}",
                Show(c.Facts.Operator),
                c.Facts.Jurisdiction.IsKnown ? string.Join(", ", c.Facts.Jurisdiction.Value!) + Origin(c.Facts.Jurisdiction.Origin, c.Facts.Jurisdiction.Source, c.Facts.Jurisdiction.Checked) : "unknown",
                c.Facts.Certifications.Count == 0 ? "none recorded" : string.Join("\n", c.Facts.Certifications.Select(x =>
                    $"{x.Name}{(x.Level is { } l ? " " + l : "")}: {x.Status}{(x.Covers(c.Facts.Provider) ? "" : " (does not cover this object storage)")}{Origin(x.Origin, x.Source, x.Checked)}")),
                c.Facts.Exposures.Count == 0 ? "none recorded" : string.Join("\n", c.Facts.Exposures.Select(x => $"{x.Regime}: {x.Status}{Origin(x.Origin, x.Source, x.Checked)}")),
            ]));
            doc.H3("Key");
            var key = bucket.Key;
            doc.P(key.Id is null ? $"{key.Rotation}: {key.Problem}"
                : $"Key {key.Name} ({key.Id}), {key.State}, primary version {key.PrimaryVersion}; rotation {(key.RotationPeriod is { } r ? "every " + r : "manual")}: {key.Rotation}" +
                  (key.NextRotation is { } n ? $", next {Time(n)}" : "") + (key.Problem is { } pr ? $". {pr}" : "") + ".");
            doc.H3("Copies missing or under repair");
            var h = bucket.Health;
            doc.P($"{h.Objects} object(s), {h.Blobs} blob(s) checked on every required backend: {h.MissingCopies} copie(s) missing, " +
                $"{h.UnreachableChecks} check(s) could not reach a backend." + (h.Migration is { } m ? $" {m}." : ""));
            doc.P("Where the catalog records the copies (written by every write, migration and repair; `coffre repair` sets it right):");
            doc.Table(["Backend", "Blobs recorded", "Required by the placement"], h.Recorded.Select(c => (IReadOnlyList<string>)
                [c.Backend, c.Blobs.ToString(CultureInfo.InvariantCulture), c.Required ? "yes" : "no"]));
            doc.H3("Who could obtain the plaintext?");
            doc.List(bucket.WhoCouldObtainPlaintext);
            doc.H3("Who could deny us access?");
            doc.List(bucket.WhoCouldDenyAccess);
        }
        return doc;
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string Show(Fact<string> fact) => fact.IsKnown ? fact.Value + Origin(fact.Origin, fact.Source, fact.Checked) : "unknown";

    private static string Origin(FactOrigin origin, string? source, string? checkedOn) => origin switch
    {
        FactOrigin.Catalog => $" [catalog: {source}, checked {checkedOn}]",
        FactOrigin.Configuration => " [configuration]",
        _ => "",
    };
}
