using Coffre.Storage.Placement;
using static Coffre.Storage.Tests.Placement.PlacementTestCatalog;

namespace Coffre.Storage.Tests.Placement;

/// <summary>Policies are checked against the backends' facts; the copies chosen are deterministic; refusals name bucket, backend and rule.</summary>
public sealed class PlacementPlannerTests
{
    private const string Scope = "Buckets:health:Placement";

    [Fact]
    public void A_rule_broken_names_the_bucket_the_backend_and_the_rule()
    {
        var planner = Planner(Backend("ovh-gra", "ovhcloud/gra"), Backend("scw", "scaleway/fr-par"));
        var decision = planner.Decide(Scope, new PlacementPolicy
        {
            Backends = ["ovh-gra", "scw"],
            Copies = 2,
            Certifications = ["HDS"],
        });
        Assert.False(decision.IsSatisfied);
        var problem = Assert.Single(decision.Problems);
        Assert.Equal("Buckets:health:Placement: backend 'ovh-gra' breaks Certifications: it holds no HDS covering object storage in its region.", problem);
    }

    [Fact]
    public void Unknown_never_satisfies_a_rule()
    {
        var planner = Planner(Backend("garage", "garage/self-hosted"), OnPrem("onprem"));
        var countries = planner.Decide(Scope, new PlacementPolicy { Backends = ["garage"], Countries = ["FR"] });
        Assert.Contains(countries.Problems, p => p.Contains("backend 'garage' breaks Countries [FR]: its country is unknown"));
        var exposure = planner.Decide(Scope, new PlacementPolicy { Backends = ["garage"], ForbiddenExposures = ["us-cloud-act"] });
        Assert.Contains(exposure.Problems, p => p.Contains("backend 'garage' breaks ForbiddenExposures: its exposure to us-cloud-act is unknown"));
        var distinct = planner.Decide(Scope, new PlacementPolicy { Backends = ["garage", "onprem"], Copies = 2, DistinctBy = ["Operator"] });
        Assert.Contains(distinct.Problems, p => p.Contains("backend 'garage' breaks DistinctBy Operator: its operator is unknown"));
    }

    [Fact]
    public void Only_none_identified_passes_a_forbidden_exposure()
    {
        var planner = Planner(Backend("aws", "aws/eu-west-3"), Backend("ovh", "ovhcloud/gra"), Backend("s3ns", "s3ns/u-france-east1"),
            Backend("scw", "scaleway/fr-par"));
        var policy = new PlacementPolicy { ForbiddenExposures = ["us-cloud-act"] };
        var decision = planner.Decide(Scope, policy);
        Assert.Equal(["scw"], decision.Copies);
        foreach (var policyWithList in new[] { "aws", "ovh", "s3ns" })
        {
            var refused = planner.Decide(Scope, new PlacementPolicy { Backends = [policyWithList], ForbiddenExposures = ["us-cloud-act"] });
            Assert.Contains(refused.Problems, p => p.Contains($"backend '{policyWithList}' breaks ForbiddenExposures"));
        }
    }

    [Fact]
    public void Copies_on_distinct_operators_are_chosen_in_candidate_order_every_time()
    {
        var planner = Planner(OnPrem("a", "Ministère X"), OnPrem("b", "Ministère X"), OnPrem("c", "Hôpital Y"), OnPrem("d", "Hôpital Y"));
        var policy = new PlacementPolicy { Copies = 2, DistinctBy = ["Operator"] };
        for (var i = 0; i < 3; i++) Assert.Equal(["a", "c"], planner.Decide(Scope, policy).Copies);
        Assert.Equal(["d", "b"], planner.Decide(Scope, new PlacementPolicy { Backends = ["d", "b", "a"], Copies = 2, DistinctBy = ["Operator"] }).Copies);
    }

    [Fact]
    public void Too_few_distinct_backends_is_refused_with_what_qualifies()
    {
        var planner = Planner(OnPrem("a", "Ministère X"), OnPrem("b", "Ministère X"));
        var decision = planner.Decide(Scope, new PlacementPolicy { Copies = 2, DistinctBy = ["Operator"] });
        var problem = Assert.Single(decision.Problems);
        Assert.Contains("Buckets:health:Placement: Copies needs 2 backend(s) that differ by Operator, but only a, b qualify", problem);
        Assert.Equal(["a", "b"], planner.Decide(Scope, new PlacementPolicy { Copies = 2 }).Copies);
    }

    [Fact]
    public void Jurisdictions_differ_only_when_they_share_no_country()
    {
        // Microsoft Ireland (IE + US parent) and AWS (US) share the United States.
        var planner = Planner(Backend("aws", "aws/eu-west-3"), Backend("azure", "azure/francecentral"), Backend("scw", "scaleway/fr-par"));
        var decision = planner.Decide(Scope, new PlacementPolicy { Backends = ["aws", "azure", "scw"], Copies = 2, DistinctBy = ["Jurisdiction"] });
        Assert.Equal(["aws", "scw"], decision.Copies);
        var refused = planner.Decide(Scope, new PlacementPolicy { Backends = ["aws", "azure"], Copies = 2, DistinctBy = ["Jurisdiction"] });
        Assert.False(refused.IsSatisfied);
    }

    [Fact]
    public void Malformed_policies_are_refused()
    {
        var planner = Planner(OnPrem("a"));
        var decision = planner.Decide(Scope, new PlacementPolicy { Backends = ["a", "zz", "a"], Copies = 0, DistinctBy = ["Colour"] });
        Assert.Contains(decision.Problems, p => p.Contains("DistinctBy 'Colour' is not one of Operator, Jurisdiction, Region, Country"));
        Assert.Contains(decision.Problems, p => p.Contains("Copies is 0"));
        Assert.Contains(decision.Problems, p => p.Contains("Backends names 'zz', which is not a configured backend"));
        Assert.Contains(decision.Problems, p => p.Contains("Backends lists 'a' twice"));
    }

    [Fact]
    public void A_bucket_without_a_policy_of_its_own_follows_the_default_and_an_unsatisfiable_one_throws()
    {
        var planner = Planner(OnPrem("a"), OnPrem("b", "Hôpital Y"));
        var placement = new BucketPlacement(planner, new PlacementPolicy { Backends = ["b"] },
            new Dictionary<string, PlacementPolicy> { ["health"] = new() { Copies = 3 } });
        Assert.Equal(["b"], placement.CopiesOf("photos"));
        Assert.Equal(["b"], placement.CopiesOf(null));
        var e = Assert.Throws<PlacementException>(() => placement.CopiesOf("health"));
        Assert.Contains("bucket 'health'", e.Message);
        Assert.Contains("Buckets:health:Placement: Copies needs 3", e.Message);
        Assert.Single(placement.Problems());
    }
}
