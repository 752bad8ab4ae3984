using Coffre.Objects.Access;

namespace Coffre.Objects.Tests.Access;

/// <summary>
/// The bucket policy evaluator alone: principals, wildcards in actions and resources, NotAction/NotResource, each
/// condition operator with IfExists and ForAnyValue/ForAllValues, explicit Deny precedence, and validation at PUT.
/// </summary>
public sealed class BucketPolicyTests
{
    private const string Account = "123456789012", Key = "AKIAEXAMPLEKEY000001";
    private static readonly HashSet<string> Actions = new(["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetObjectVersion"], StringComparer.OrdinalIgnoreCase);

    private static BucketPolicy Parse(string statements) =>
        BucketPolicy.Parse($$"""{"Version":"2012-10-17","Statement":[{{statements}}]}""", "docs", Account, Actions.Contains);

    private static PolicyRequest Req(string action = "s3:GetObject", string resource = "arn:aws:s3:::docs/a/b.txt", string? key = Key,
        params (string Name, string[] Values)[] keys) =>
        new(action, resource, key, keys.ToDictionary(k => k.Name, k => (IReadOnlyList<string>)k.Values, StringComparer.OrdinalIgnoreCase));

    private static string Statement(string effect = "Allow", string principal = "\"*\"", string action = "\"s3:GetObject\"",
        string resource = "\"arn:aws:s3:::docs/*\"", string? condition = null, bool notAction = false, bool notResource = false) =>
        $$"""{"Effect":"{{effect}}","Principal":{{principal}},"{{(notAction ? "NotAction" : "Action")}}":{{action}},"{{(notResource ? "NotResource" : "Resource")}}":{{resource}}{{(condition is null ? "" : ",\"Condition\":" + condition)}}}""";

    [Theory]
    [InlineData("\"*\"", null, true)]
    [InlineData("{\"AWS\":\"*\"}", null, true)]
    [InlineData("{\"AWS\":\"AKIAEXAMPLEKEY000001\"}", Key, true)]
    [InlineData("{\"AWS\":[\"arn:aws:iam::123456789012:user/AKIAEXAMPLEKEY000001\"]}", Key, true)]
    [InlineData("{\"AWS\":\"arn:aws:iam::123456789012:root\"}", Key, true)]
    [InlineData("{\"AWS\":\"123456789012\"}", Key, true)]
    [InlineData("{\"AWS\":\"AKIAOTHERKEY00000001\"}", Key, false)]
    [InlineData("{\"AWS\":\"AKIAEXAMPLEKEY000001\"}", null, false)]
    [InlineData("{\"AWS\":\"arn:aws:iam::999999999999:root\"}", Key, false)]
    public void Principals_match_everyone_a_key_its_arn_or_the_account(string principal, string? key, bool matches) =>
        Assert.Equal(matches ? PolicyDecision.Allow : PolicyDecision.NotApplicable, Parse(Statement(principal: principal)).Evaluate(Req(key: key)));

    [Theory]
    [InlineData("\"s3:*\"", "s3:PutObject", true)]
    [InlineData("\"s3:Get*\"", "s3:GetObject", true)]
    [InlineData("\"s3:Get*\"", "s3:PutObject", false)]
    [InlineData("\"s3:getobject\"", "s3:GetObject", true)]
    [InlineData("\"s3:GetObjec?\"", "s3:GetObject", true)]
    [InlineData("[\"s3:PutObject\",\"s3:GetObject\"]", "s3:GetObject", true)]
    [InlineData("\"*\"", "s3:DeleteObject", true)]
    public void Actions_match_with_wildcards_and_ignore_case(string action, string requested, bool matches) =>
        Assert.Equal(matches, Parse(Statement(action: action)).Evaluate(Req(action: requested)) == PolicyDecision.Allow);

    [Theory]
    [InlineData("\"arn:aws:s3:::docs/*\"", "arn:aws:s3:::docs/a/b.txt", true)]
    [InlineData("\"arn:aws:s3:::docs/a/*\"", "arn:aws:s3:::docs/b/c", false)]
    [InlineData("\"arn:aws:s3:::docs/?.txt\"", "arn:aws:s3:::docs/x.txt", true)]
    [InlineData("\"arn:aws:s3:::docs/?.txt\"", "arn:aws:s3:::docs/xy.txt", false)]
    [InlineData("\"arn:aws:s3:::docs\"", "arn:aws:s3:::docs", true)]
    [InlineData("\"arn:aws:s3:::docs\"", "arn:aws:s3:::docs/a", false)]
    [InlineData("\"arn:aws:s3:::d*\"", "arn:aws:s3:::docs/a", true)]
    public void Resources_match_with_star_and_question_mark(string resource, string requested, bool matches) =>
        Assert.Equal(matches, Parse(Statement(resource: resource)).Evaluate(Req(resource: requested)) == PolicyDecision.Allow);

    [Fact]
    public void NotAction_and_NotResource_match_everything_else()
    {
        var notAction = Parse(Statement(effect: "Deny", action: "\"s3:GetObject\"", notAction: true));
        Assert.Equal(PolicyDecision.Deny, notAction.Evaluate(Req(action: "s3:PutObject")));
        Assert.Equal(PolicyDecision.NotApplicable, notAction.Evaluate(Req(action: "s3:GetObject")));
        var notResource = Parse(Statement(effect: "Deny", resource: "\"arn:aws:s3:::docs/public/*\"", notResource: true));
        Assert.Equal(PolicyDecision.Deny, notResource.Evaluate(Req(resource: "arn:aws:s3:::docs/secret")));
        Assert.Equal(PolicyDecision.NotApplicable, notResource.Evaluate(Req(resource: "arn:aws:s3:::docs/public/x")));
    }

    [Fact]
    public void An_explicit_deny_wins_over_any_allow_in_any_order()
    {
        var allowFirst = Parse(Statement() + "," + Statement(effect: "Deny", principal: $"{{\"AWS\":\"{Key}\"}}"));
        var denyFirst = Parse(Statement(effect: "Deny", principal: $"{{\"AWS\":\"{Key}\"}}") + "," + Statement());
        Assert.Equal(PolicyDecision.Deny, allowFirst.Evaluate(Req()));
        Assert.Equal(PolicyDecision.Deny, denyFirst.Evaluate(Req()));
        Assert.Equal(PolicyDecision.Allow, allowFirst.Evaluate(Req(key: null)));
    }

    public static TheoryData<string, (string, string[])[], bool> Conditions => new()
    {
        { """{"StringEquals":{"s3:prefix":"logs/"}}""", [("s3:prefix", ["logs/"])], true },
        { """{"StringEquals":{"s3:prefix":"logs/"}}""", [("s3:prefix", ["Logs/"])], false },
        { """{"StringEquals":{"s3:prefix":"logs/"}}""", [], false },
        { """{"StringEquals":{"s3:prefix":["a","logs/"]}}""", [("s3:prefix", ["logs/"])], true },
        { """{"StringNotEquals":{"s3:prefix":"logs/"}}""", [("s3:prefix", ["other"])], true },
        { """{"StringNotEquals":{"s3:prefix":"logs/"}}""", [("s3:prefix", ["logs/"])], false },
        { """{"StringNotEquals":{"s3:prefix":"logs/"}}""", [], true },
        { """{"StringEqualsIgnoreCase":{"s3:prefix":"LOGS/"}}""", [("s3:prefix", ["logs/"])], true },
        { """{"StringNotEqualsIgnoreCase":{"s3:prefix":"LOGS/"}}""", [("s3:prefix", ["logs/"])], false },
        { """{"StringLike":{"aws:UserAgent":"aws-cli/*"}}""", [("aws:UserAgent", ["aws-cli/2.9 Python"])], true },
        { """{"StringLike":{"aws:Referer":"https://?.example.org/*"}}""", [("aws:Referer", ["https://ab.example.org/x"])], false },
        { """{"StringNotLike":{"aws:UserAgent":"curl*"}}""", [("aws:UserAgent", ["boto3"])], true },
        { """{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}""", [], true },
        { """{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}""", [("s3:x-amz-acl", ["public-read"])], false },
        { """{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}""", [("aws:SourceIp", ["10.1.2.3"])], true },
        { """{"IpAddress":{"aws:SourceIp":["192.168.0.0/16","127.0.0.1"]}}""", [("aws:SourceIp", ["127.0.0.1"])], true },
        { """{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}""", [("aws:SourceIp", ["11.1.2.3"])], false },
        { """{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}""", [("aws:SourceIp", ["2001:db8::1"])], true },
        { """{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}""", [("aws:SourceIp", ["11.1.2.3"])], true },
        { """{"Bool":{"aws:SecureTransport":"false"}}""", [("aws:SecureTransport", ["false"])], true },
        { """{"Bool":{"aws:SecureTransport":"true"}}""", [("aws:SecureTransport", ["false"])], false },
        { """{"Null":{"s3:x-amz-server-side-encryption":"true"}}""", [], true },
        { """{"Null":{"s3:x-amz-server-side-encryption":"true"}}""", [("s3:x-amz-server-side-encryption", ["AES256"])], false },
        { """{"Null":{"s3:x-amz-server-side-encryption":"false"}}""", [("s3:x-amz-server-side-encryption", ["AES256"])], true },
        { """{"NumericLessThanEquals":{"s3:max-keys":"10"}}""", [("s3:max-keys", ["10"])], true },
        { """{"NumericLessThan":{"s3:max-keys":"10"}}""", [("s3:max-keys", ["10"])], false },
        { """{"NumericGreaterThan":{"s3:max-keys":"10"}}""", [("s3:max-keys", ["11"])], true },
        { """{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}""", [("s3:max-keys", ["9"])], false },
        { """{"NumericEquals":{"s3:max-keys":"10"}}""", [("s3:max-keys", ["10.0"])], true },
        { """{"NumericNotEquals":{"s3:max-keys":"10"}}""", [("s3:max-keys", ["10"])], false },
        { """{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}""", [("aws:CurrentTime", ["2026-11-30T00:00:00Z"])], true },
        { """{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}""", [("aws:CurrentTime", ["2026-11-30T00:00:00Z"])], false },
        { """{"DateGreaterThanEquals":{"aws:EpochTime":"1700000000"}}""", [("aws:EpochTime", ["1800000000"])], true },
        { """{"DateLessThanEquals":{"aws:CurrentTime":"2026-11-30T00:00:00Z"}}""", [("aws:CurrentTime", ["2026-11-30T00:00:00Z"])], true },
        { """{"DateEquals":{"aws:CurrentTime":"2026-11-30T00:00:00Z"}}""", [("aws:CurrentTime", ["2026-11-30T00:00:01Z"])], false },
        { """{"DateNotEquals":{"aws:CurrentTime":"2026-11-30T00:00:00Z"}}""", [("aws:CurrentTime", ["2026-11-30T00:00:01Z"])], true },
        { """{"ForAnyValue:StringEquals":{"tags":["a","b"]}}""", [("tags", ["x", "b"])], true },
        { """{"ForAnyValue:StringEquals":{"tags":["a","b"]}}""", [("tags", ["x", "y"])], false },
        { """{"ForAllValues:StringEquals":{"tags":["a","b"]}}""", [("tags", ["a", "b"])], true },
        { """{"ForAllValues:StringEquals":{"tags":["a","b"]}}""", [("tags", ["a", "c"])], false },
        { """{"ForAllValues:StringEquals":{"tags":["a","b"]}}""", [], true },
        { """{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::docs/*"}}""", [("aws:SourceArn", ["arn:aws:s3:::docs/x"])], true },
        { """{"StringEquals":{"s3:prefix":"a"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}""", [("s3:prefix", ["a"]), ("aws:SourceIp", ["192.0.2.1"])], false },
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void Conditions_hold_as_iam_documents_each_operator(string condition, (string, string[])[] keys, bool holds) =>
        Assert.Equal(holds, Parse(Statement(condition: condition)).Evaluate(Req(keys: keys)) == PolicyDecision.Allow);

    [Fact]
    public void Condition_keys_are_case_insensitive() =>
        Assert.Equal(PolicyDecision.Allow, Parse(Statement(condition: """{"StringEquals":{"S3:Prefix":"a"}}""")).Evaluate(Req(keys: [("s3:prefix", ["a"])])));

    [Theory]
    [InlineData("{not json", "invalid Json")]
    [InlineData("""{"Version":"2012-10-17"}""", "Missing required field Statement")]
    [InlineData("""{"Version":"1999-01-01","Statement":[]}""", "valid version")]
    [InlineData("""{"Statement":{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}}""", "Invalid effect")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}}""", "Missing required field Principal")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:Teleport","Resource":"arn:aws:s3:::docs/*"}}""", "invalid action")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"ec2:RunInstances","Resource":"arn:aws:s3:::docs/*"}}""", "invalid action")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}}""", "invalid resource")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"arn:aws:s3:::docs/*"}}""", "exactly one of Action")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*","Condition":{"StringFoo":{"a":"b"}}}}""", "Invalid Condition type : StringFoo")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*","Condition":{"NullIfExists":{"a":"true"}}}}""", "Invalid Condition type")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*","Condition":{"IpAddress":{"aws:SourceIp":"not-an-ip"}}}}""", "invalid value")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*","Condition":{"NumericEquals":{"s3:max-keys":"ten"}}}}""", "invalid value")]
    [InlineData("""{"Statement":{"Effect":"Allow","Principal":{"Service":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}}""", "Invalid principal")]
    [InlineData("""{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}}""", "NotPrincipal")]
    public void Invalid_policies_are_refused_with_the_reason(string json, string reason)
    {
        var e = Assert.Throws<PolicyException>(() => BucketPolicy.Parse(json, "docs", Account, Actions.Contains));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_policy_larger_than_20_KiB_is_refused()
    {
        var big = Statement(resource: "[" + string.Join(",", Enumerable.Range(0, 1000).Select(i => $"\"arn:aws:s3:::docs/prefix-{i:D5}/*\"")) + "]");
        Assert.Contains("20480", Assert.Throws<PolicyException>(() => Parse(big)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Allow", "\"*\"", null, true)]
    [InlineData("Allow", "{\"AWS\":\"*\"}", null, true)]
    [InlineData("Deny", "\"*\"", null, false)]
    [InlineData("Allow", "{\"AWS\":\"AKIAEXAMPLEKEY000001\"}", null, false)]
    [InlineData("Allow", "\"*\"", """{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}""", false)]
    [InlineData("Allow", "\"*\"", """{"StringLike":{"aws:Referer":"https://example.org/*"}}""", true)]
    public void Public_as_s3_judges_it(string effect, string principal, string? condition, bool isPublic) =>
        Assert.Equal(isPublic, Parse(Statement(effect: effect, principal: principal, condition: condition)).IsPublic);
}
