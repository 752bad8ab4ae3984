using System.Text.Json;

namespace Coffre.Objects.Access;

/// <summary>
/// A bucket policy (IAM JSON), validated when it is put and evaluated on every S3 request to its bucket. Principals are
/// <c>"*"</c> (everyone, anonymous requests included), or under <c>"AWS"</c> a Coffre access key id, its ARN
/// <c>arn:aws:iam::ACCOUNT:user/KEYID</c>, or the account (<c>ACCOUNT</c>, <c>arn:aws:iam::ACCOUNT:root</c>: every key).
/// The document is stored as the client sent it, so GetBucketPolicy returns it unchanged.
/// </summary>
public sealed class BucketPolicy
{
    /// <summary>The bucket setting holding it (<see cref="Catalog.IBucketSettingsCatalog"/>).</summary>
    public const string Setting = "policy";

    /// <summary>S3's limit on a bucket policy's size.</summary>
    public const int MaxBytes = 20 * 1024;

    /// <summary>Condition keys whose value no anonymous stranger chooses: an Allow to "*" conditioned on one is not public.</summary>
    private static readonly string[] FixedValueKeys =
        ["aws:SourceIp", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceArn", "aws:SourceAccount", "aws:PrincipalAccount", "aws:userid", "aws:username", "aws:PrincipalArn"];

    private readonly IReadOnlyList<Statement> _statements;

    public string Json { get; }

    private BucketPolicy(string json, IReadOnlyList<Statement> statements)
    {
        Json = json;
        _statements = statements;
    }

    /// <summary>
    /// Parses and validates a policy for <paramref name="bucket"/>; <paramref name="isAction"/> says whether an action
    /// name without wildcard is one S3 has. Throws <see cref="PolicyException"/> with S3's reason.
    /// </summary>
    public static BucketPolicy Parse(string json, string bucket, string accountId, Func<string, bool> isAction)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxBytes)
            throw new PolicyException($"Policies must be no more than {MaxBytes} bytes.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new PolicyException($"This policy contains invalid Json ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new PolicyException("This policy contains invalid Json");
            foreach (var property in root.EnumerateObject())
                if (property.Name is not ("Version" or "Id" or "Statement"))
                    throw new PolicyException($"Unknown field {property.Name}");
            if (root.TryGetProperty("Version", out var version) && version.GetString() is not ("2012-10-17" or "2008-10-17"))
                throw new PolicyException("The policy must contain a valid version string");
            if (!root.TryGetProperty("Statement", out var statements))
                throw new PolicyException("Missing required field Statement");
            var list = statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().ToList() : [statements];
            if (list.Count == 0) throw new PolicyException("Missing required field Statement");
            return new BucketPolicy(json, [.. list.Select(s => Statement.Parse(s, bucket, accountId, isAction))]);
        }
    }

    /// <summary>Every statement that applies to the request decides; one Deny decides alone.</summary>
    public PolicyDecision Evaluate(PolicyRequest request)
    {
        var decision = PolicyDecision.NotApplicable;
        foreach (var statement in _statements)
        {
            if (!statement.Applies(request)) continue;
            if (statement.Deny) return PolicyDecision.Deny;
            decision = PolicyDecision.Allow;
        }
        return decision;
    }

    /// <summary>
    /// Public, as S3 judges a policy: an Allow to everyone (<c>"*"</c>) that no condition on a fixed-value key (source
    /// address, account, user) narrows. GetBucketPolicyStatus answers it; BlockPublicPolicy refuses such a policy.
    /// </summary>
    public bool IsPublic => _statements.Any(s => !s.Deny && s.Everyone && !s.Conditions.Any(c => FixedValueKeys.Contains(c.Key, StringComparer.OrdinalIgnoreCase)));

    private sealed record Statement(bool Deny, bool Everyone, IReadOnlyList<string> Principals, IReadOnlyList<string> Actions, bool NotAction,
        IReadOnlyList<string> Resources, bool NotResource, IReadOnlyList<PolicyCondition> Conditions, string AccountId)
    {
        public bool Applies(PolicyRequest request) =>
            MatchesPrincipal(request)
            && Actions.Any(a => PolicyWildcard.Matches(a, request.Action, ignoreCase: true)) != NotAction
            && Resources.Any(r => PolicyWildcard.Matches(r, request.Resource)) != NotResource
            && Conditions.All(c => c.Holds(request.Keys));

        private bool MatchesPrincipal(PolicyRequest request)
        {
            if (Everyone) return true;
            if (request.AccessKeyId is not { } key) return false;
            return Principals.Any(p => p == key || p == AccountId || p == $"arn:aws:iam::{AccountId}:root" || p == $"arn:aws:iam::{AccountId}:user/{key}");
        }

        public static Statement Parse(JsonElement s, string bucket, string accountId, Func<string, bool> isAction)
        {
            if (s.ValueKind != JsonValueKind.Object) throw new PolicyException("Each Statement must be a JSON object");
            foreach (var property in s.EnumerateObject())
                if (property.Name is not ("Sid" or "Effect" or "Principal" or "Action" or "NotAction" or "Resource" or "NotResource" or "Condition"))
                    throw new PolicyException(property.Name == "NotPrincipal"
                        ? "NotPrincipal is not supported by Coffre: name the principals to deny with Principal and Effect Deny"
                        : $"Unknown field {property.Name}");
            var effect = s.TryGetProperty("Effect", out var e) ? e.GetString() : null;
            if (effect is not ("Allow" or "Deny")) throw new PolicyException("Invalid effect: " + (effect ?? "(missing)"));
            if (!s.TryGetProperty("Principal", out var principal)) throw new PolicyException("Missing required field Principal");
            var (everyone, principals) = ParsePrincipal(principal);

            var hasAction = s.TryGetProperty("Action", out var action);
            var hasNotAction = s.TryGetProperty("NotAction", out var notAction);
            if (hasAction == hasNotAction) throw new PolicyException("Each Statement must have exactly one of Action or NotAction");
            var actions = Strings(hasAction ? action : notAction, "Action");
            foreach (var a in actions)
                if (a != "*" && (!a.StartsWith("s3:", StringComparison.OrdinalIgnoreCase) || (!a.Contains('*') && !a.Contains('?') && !isAction(a))))
                    throw new PolicyException("Policy has invalid action");

            var hasResource = s.TryGetProperty("Resource", out var resource);
            var hasNotResource = s.TryGetProperty("NotResource", out var notResource);
            if (hasResource == hasNotResource) throw new PolicyException("Each Statement must have exactly one of Resource or NotResource");
            var resources = Strings(hasResource ? resource : notResource, "Resource");
            foreach (var r in resources)
            {
                const string prefix = "arn:aws:s3:::";
                var named = r.StartsWith(prefix, StringComparison.Ordinal) ? r[prefix.Length..].Split('/', 2)[0] : null;
                if (r != "*" && (named is null || !PolicyWildcard.Matches(named, bucket)))
                    throw new PolicyException("Policy has invalid resource");
            }

            var conditions = new List<PolicyCondition>();
            if (s.TryGetProperty("Condition", out var condition))
            {
                if (condition.ValueKind != JsonValueKind.Object) throw new PolicyException("Condition must be a JSON object");
                foreach (var op in condition.EnumerateObject())
                {
                    if (op.Value.ValueKind != JsonValueKind.Object) throw new PolicyException($"The condition {op.Name} must map keys to values");
                    foreach (var key in op.Value.EnumerateObject())
                        conditions.Add(PolicyCondition.Parse(op.Name, key.Name, Strings(key.Value, "Condition value", scalars: true)));
                }
            }
            return new Statement(effect == "Deny", everyone, principals, actions, hasNotAction, resources, hasNotResource, conditions, accountId);
        }

        private static (bool Everyone, IReadOnlyList<string> Principals) ParsePrincipal(JsonElement principal)
        {
            if (principal.ValueKind == JsonValueKind.String)
                return principal.GetString() == "*" ? (true, []) : throw new PolicyException("Invalid principal in policy");
            if (principal.ValueKind != JsonValueKind.Object) throw new PolicyException("Invalid principal in policy");
            var all = new List<string>();
            foreach (var kind in principal.EnumerateObject())
            {
                if (kind.Name is not ("AWS" or "CanonicalUser")) throw new PolicyException($"Invalid principal in policy: Coffre has no {kind.Name} principals");
                all.AddRange(Strings(kind.Value, "Principal"));
            }
            if (all.Count == 0) throw new PolicyException("Invalid principal in policy");
            return all.Contains("*") ? (true, []) : (false, all);
        }

        private static IReadOnlyList<string> Strings(JsonElement value, string field, bool scalars = false)
        {
            string One(JsonElement v) => v.ValueKind switch
            {
                JsonValueKind.String => v.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False when scalars => v.GetRawText(),
                _ => throw new PolicyException($"{field} must be a string or an array of strings"),
            };
            return value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray().Select(One)] : [One(value)];
        }
    }
}
