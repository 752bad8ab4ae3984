using Coffre.Storage.Placement;
using static Coffre.Storage.Tests.Placement.PlacementTestCatalog;

namespace Coffre.Storage.Tests.Placement;

/// <summary>The shipped catalog loads, and a backend's facts are the catalog's with its Facts block laid over them.</summary>
public sealed class BackendFactsTests
{
    [Fact]
    public void The_shipped_catalog_is_beside_the_binary_and_every_region_resolves()
    {
        Assert.True(File.Exists(ProviderCatalog.ShippedPath), $"{ProviderCatalog.ShippedPath} is not shipped beside the binary");
        Assert.True(Shipped.Regions.Count >= 40, $"only {Shipped.Regions.Count} regions");
        foreach (var region in Shipped.Regions)
        {
            var facts = Backend("b", region.Id);
            Assert.Equal(region.Id, facts.Region.Value);
            // A catalog fact always says where it comes from.
            foreach (var fact in new[] { facts.Country, facts.City, facts.Operator }.Where(f => f.IsKnown))
            {
                Assert.Equal(FactOrigin.Catalog, fact.Origin);
                Assert.False(string.IsNullOrEmpty(fact.Source), $"{region.Id}: a fact without a source");
                Assert.Matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", fact.Checked);
            }
        }
    }

    [Fact]
    public void A_catalog_region_gives_country_operator_jurisdiction_and_exposures()
    {
        var gra = Backend("ovh-gra", "ovhcloud/gra");
        Assert.Equal("FR", gra.Country.Value);
        Assert.Equal("Gravelines", gra.City.Value);
        Assert.Equal("OVH SAS", gra.Operator.Value);
        Assert.Equal(["FR"], gra.Jurisdiction.Value);
        Assert.Equal("not-assessed", gra.ExposureTo("us-cloud-act"));
        // OVHcloud's SecNumCloud covers Hosted Private Cloud, not the object storage a backend uses.
        Assert.False(gra.Holds("SecNumCloud"));

        var aws = Backend("aws-paris", "aws/eu-west-3");
        Assert.Equal("applies", aws.ExposureTo("us-cloud-act"));
        Assert.Contains("US", aws.Jurisdiction.Value!);

        // A certificate that names its regions counts only there.
        Assert.True(Backend("s3ns", "s3ns/u-france-east1").Holds("SecNumCloud"));
        Assert.True(Backend("scw", "scaleway/fr-par").Holds("HDS"));
        Assert.False(Backend("scw-ams", "scaleway/nl-ams").Holds("HDS"));
    }

    [Fact]
    public void Facts_in_configuration_replace_the_catalogs_and_say_so()
    {
        var garage = Backend("garage", "garage/self-hosted", new FactsOptions
        {
            Country = "FR",
            City = "Rennes",
            Operator = "Ministère X",
            Jurisdiction = "FR",
            Certifications = ["HDS"],
            Exposures = new() { ["us-cloud-act"] = "none-identified" },
        });
        Assert.Equal(Fact<string>.Stated("FR"), garage.Country);
        Assert.Equal("Rennes", garage.City.Value);
        Assert.Equal(FactOrigin.Configuration, garage.Operator.Origin);
        Assert.Null(garage.Operator.Source);
        Assert.Equal(["FR"], garage.Jurisdiction.Value);
        Assert.True(garage.Holds("HDS"));
        Assert.Equal("none-identified", garage.ExposureTo("us-cloud-act"));

        // The template alone knows nothing of who runs it or where.
        var bare = Backend("garage2", "garage/self-hosted");
        Assert.False(bare.Country.IsKnown);
        Assert.False(bare.Operator.IsKnown);
        Assert.False(bare.Jurisdiction.IsKnown);
        Assert.Null(bare.ExposureTo("us-cloud-act"));

        // Neither Provider nor Facts: nothing is known.
        var nothing = Backend("disk", null);
        Assert.False(nothing.Country.IsKnown || nothing.Region.IsKnown || nothing.Operator.IsKnown);
    }

    [Fact]
    public void A_provider_not_in_the_catalog_is_refused_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => Backend("x", "ovhcloud/atlantis"));
        Assert.Contains("'x'", e.Message);
        Assert.Contains("ovhcloud/atlantis", e.Message);
    }

    [Fact]
    public void Bad_facts_are_each_named()
    {
        var problems = new FactsOptions { Country = "France", Jurisdiction = "FR,usa", Operator = " ", Exposures = new() { ["us-cloud-act"] = "maybe" } }.Validate();
        Assert.Contains(problems, p => p.StartsWith("Country: 'France'"));
        Assert.Contains(problems, p => p.StartsWith("Jurisdiction: 'FR,usa'"));
        Assert.Contains(problems, p => p.StartsWith("Operator:"));
        Assert.Contains(problems, p => p.StartsWith("Exposures:us-cloud-act: 'maybe'"));
        Assert.Empty(new FactsOptions { Country = "FR", Jurisdiction = "IE,US" }.Validate());
    }

    [Fact]
    public void A_malformed_catalog_names_its_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"catalog-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "catalogVersion": 1, "providers": [], "regions": [ { "id": "x/y", "provider": "x" } ] }""");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ProviderCatalog.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("'x'", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
