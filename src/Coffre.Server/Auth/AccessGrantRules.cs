using Coffre.Kms.Access;
using Coffre.Server.Kms;

namespace Coffre.Server.Auth;

/// <summary>
/// Validation of grants against what the faces serve, for every way grants arrive (configuration, the CLI,
/// the admin API): one list of problems, each naming the field and what to do.
/// </summary>
public static class AccessGrantRules
{
    public static IReadOnlyList<string> Problems(AccessGrants grants) =>
        [.. grants.Problems(), .. KmsPermissions.Problems(grants.KmsOperations)];

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem.</summary>
    public static AccessGrants Validated(AccessGrants grants)
    {
        var problems = Problems(grants);
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        return grants;
    }
}
