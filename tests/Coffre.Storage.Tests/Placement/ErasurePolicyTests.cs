using Coffre.Storage.Placement;
using static Coffre.Storage.Tests.Placement.PlacementTestCatalog;

namespace Coffre.Storage.Tests.Placement;

/// <summary>Erasure settings are checked with the rest of the policy, every problem listed with the setting that causes it.</summary>
public sealed class ErasurePolicyTests
{
    private const string Scope = "Buckets:coded:Placement";

    [Fact]
    public void K_of_n_takes_n_distinct_backends_in_candidate_order()
    {
        var planner = Planner(OnPrem("a"), OnPrem("b"), OnPrem("c"), OnPrem("d"));
        var decision = planner.Decide(Scope, new PlacementPolicy { Backends = ["c", "a", "b", "d"], Erasure = new ErasurePolicy { K = 2, N = 3 } });
        Assert.True(decision.IsSatisfied, string.Join(" ", decision.Problems));
        Assert.Equal(["c", "a", "b"], decision.Copies);
        Assert.Equal(3, new ErasurePolicy { K = 2, N = 3 }.Quorum);
    }

    [Fact]
    public void Impossible_settings_are_all_listed()
    {
        var planner = Planner(OnPrem("a"), OnPrem("b"), OnPrem("c"));
        Assert.Contains("Erasure K=3, N=3: needs 1 <= K < N <= 255",
            Assert.Single(planner.Decide(Scope, new PlacementPolicy { Erasure = new ErasurePolicy { K = 3, N = 3 } }).Problems));
        Assert.Contains("Erasure K=0, N=2", Assert.Single(planner.Decide(Scope, new PlacementPolicy { Erasure = new ErasurePolicy { K = 0, N = 2 } }).Problems));
        Assert.Contains("Erasure K=2, N=300", Assert.Single(planner.Decide(Scope, new PlacementPolicy { Erasure = new ErasurePolicy { K = 2, N = 300 } }).Problems));
        var both = planner.Decide(Scope, new PlacementPolicy { Copies = 2, Erasure = new ErasurePolicy { K = 1, N = 3, WriteQuorum = 1 } });
        Assert.Contains(both.Problems, p => p.StartsWith(Scope) && p.Contains("WriteQuorum=1: must lie in 2..3"));
        Assert.Contains(both.Problems, p => p.Contains("Copies=2 and Erasure are both set"));
        Assert.Contains("WriteQuorum=4: must lie in 3..3",
            Assert.Single(planner.Decide(Scope, new PlacementPolicy { Erasure = new ErasurePolicy { K = 2, N = 3, WriteQuorum = 4 } }).Problems));
        var tooFew = Assert.Single(planner.Decide(Scope, new PlacementPolicy { Erasure = new ErasurePolicy { K = 2, N = 4 } }).Problems);
        Assert.Contains("Erasure N needs 4 backend(s), but only a, b, c qualify", tooFew);
    }
}
