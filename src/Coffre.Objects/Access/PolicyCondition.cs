using System.Globalization;
using System.Net;

namespace Coffre.Objects.Access;

/// <summary>
/// One condition of a policy statement: an IAM operator (with its optional <c>ForAnyValue:</c>/<c>ForAllValues:</c>
/// prefix and <c>IfExists</c> suffix), a condition key and the values it compares with. Parsed (and refused with the
/// reason) when the policy is put, so evaluation never meets an unknown operator.
/// </summary>
public sealed class PolicyCondition
{
    private enum Kind { String, StringIgnoreCase, StringLike, Numeric, Date, Bool, Ip, Null, Arn, ArnLike }
    private enum Comparison { Equals, NotEquals, LessThan, LessThanEquals, GreaterThan, GreaterThanEquals }
    private enum SetOperator { None, ForAnyValue, ForAllValues }

    /// <summary>The operators Coffre evaluates (without prefix or suffix), with their kind and comparison.</summary>
    private static readonly Dictionary<string, (Kind Kind, Comparison Comparison)> Operators = new(StringComparer.Ordinal)
    {
        ["StringEquals"] = (Kind.String, Comparison.Equals),
        ["StringNotEquals"] = (Kind.String, Comparison.NotEquals),
        ["StringEqualsIgnoreCase"] = (Kind.StringIgnoreCase, Comparison.Equals),
        ["StringNotEqualsIgnoreCase"] = (Kind.StringIgnoreCase, Comparison.NotEquals),
        ["StringLike"] = (Kind.StringLike, Comparison.Equals),
        ["StringNotLike"] = (Kind.StringLike, Comparison.NotEquals),
        ["NumericEquals"] = (Kind.Numeric, Comparison.Equals),
        ["NumericNotEquals"] = (Kind.Numeric, Comparison.NotEquals),
        ["NumericLessThan"] = (Kind.Numeric, Comparison.LessThan),
        ["NumericLessThanEquals"] = (Kind.Numeric, Comparison.LessThanEquals),
        ["NumericGreaterThan"] = (Kind.Numeric, Comparison.GreaterThan),
        ["NumericGreaterThanEquals"] = (Kind.Numeric, Comparison.GreaterThanEquals),
        ["DateEquals"] = (Kind.Date, Comparison.Equals),
        ["DateNotEquals"] = (Kind.Date, Comparison.NotEquals),
        ["DateLessThan"] = (Kind.Date, Comparison.LessThan),
        ["DateLessThanEquals"] = (Kind.Date, Comparison.LessThanEquals),
        ["DateGreaterThan"] = (Kind.Date, Comparison.GreaterThan),
        ["DateGreaterThanEquals"] = (Kind.Date, Comparison.GreaterThanEquals),
        ["Bool"] = (Kind.Bool, Comparison.Equals),
        ["IpAddress"] = (Kind.Ip, Comparison.Equals),
        ["NotIpAddress"] = (Kind.Ip, Comparison.NotEquals),
        ["Null"] = (Kind.Null, Comparison.Equals),
        ["ArnEquals"] = (Kind.Arn, Comparison.Equals),
        ["ArnNotEquals"] = (Kind.Arn, Comparison.NotEquals),
        ["ArnLike"] = (Kind.ArnLike, Comparison.Equals),
        ["ArnNotLike"] = (Kind.ArnLike, Comparison.NotEquals),
    };

    private readonly Kind _kind;
    private readonly Comparison _comparison;
    private readonly SetOperator _set;
    private readonly bool _ifExists;

    public string Operator { get; }
    public string Key { get; }
    public IReadOnlyList<string> Values { get; }

    private PolicyCondition(string op, string key, IReadOnlyList<string> values, Kind kind, Comparison comparison, SetOperator set, bool ifExists)
    {
        Operator = op;
        Key = key;
        Values = values;
        _kind = kind;
        _comparison = comparison;
        _set = set;
        _ifExists = ifExists;
    }

    /// <summary>Parses one operator/key/values triple; throws <see cref="PolicyException"/> naming what is wrong.</summary>
    public static PolicyCondition Parse(string op, string key, IReadOnlyList<string> values)
    {
        var name = op;
        var set = SetOperator.None;
        if (name.StartsWith("ForAnyValue:", StringComparison.Ordinal)) { set = SetOperator.ForAnyValue; name = name["ForAnyValue:".Length..]; }
        else if (name.StartsWith("ForAllValues:", StringComparison.Ordinal)) { set = SetOperator.ForAllValues; name = name["ForAllValues:".Length..]; }
        var ifExists = name.EndsWith("IfExists", StringComparison.Ordinal) && name != "IfExists";
        if (ifExists) name = name[..^"IfExists".Length];
        if (!Operators.TryGetValue(name, out var meaning) || (ifExists && meaning.Kind == Kind.Null))
            throw new PolicyException($"Invalid Condition type : {op}");
        if (values.Count == 0) throw new PolicyException($"The condition {op} on {key} has no value.");
        foreach (var v in values)
        {
            var valid = meaning.Kind switch
            {
                Kind.Numeric => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
                Kind.Date => ParseDate(v) is not null,
                Kind.Bool or Kind.Null => v is "true" or "false" || string.Equals(v, "true", StringComparison.OrdinalIgnoreCase) || string.Equals(v, "false", StringComparison.OrdinalIgnoreCase),
                Kind.Ip => ParseNetwork(v) is not null,
                _ => true,
            };
            if (!valid) throw new PolicyException($"The condition {op} on {key} has an invalid value: '{v}'.");
        }
        return new PolicyCondition(op, key, values, meaning.Kind, meaning.Comparison, set, ifExists);
    }

    /// <summary>Whether the condition holds for the request's keys.</summary>
    public bool Holds(IReadOnlyDictionary<string, IReadOnlyList<string>> keys)
    {
        keys.TryGetValue(Key, out var present);
        if (_kind == Kind.Null)
            return bool.Parse(Values[0]) == (present is null || present.Count == 0);
        if (present is null || present.Count == 0)
        {
            // IAM: a missing key fails a positive operator, satisfies IfExists, a negated operator and ForAllValues.
            return _ifExists || _set == SetOperator.ForAllValues || _comparison == Comparison.NotEquals;
        }
        var negated = _comparison == Comparison.NotEquals;
        bool MatchesAny(string requestValue) => Values.Any(v => Compare(requestValue, v, negated ? Comparison.Equals : _comparison));
        return _set switch
        {
            // Negated operators: no request value matches any condition value (a single-valued key behaves as ForAnyValue).
            SetOperator.ForAllValues => negated ? present.All(r => !MatchesAny(r)) : present.All(MatchesAny),
            _ => negated ? !present.Any(MatchesAny) : present.Any(MatchesAny),
        };
    }

    private bool Compare(string requestValue, string conditionValue, Comparison comparison)
    {
        switch (_kind)
        {
            case Kind.String or Kind.Arn: return string.Equals(requestValue, conditionValue, StringComparison.Ordinal);
            case Kind.StringIgnoreCase: return string.Equals(requestValue, conditionValue, StringComparison.OrdinalIgnoreCase);
            case Kind.StringLike or Kind.ArnLike: return PolicyWildcard.Matches(conditionValue, requestValue);
            case Kind.Bool: return string.Equals(requestValue, conditionValue, StringComparison.OrdinalIgnoreCase);
            case Kind.Ip:
                return IPAddress.TryParse(requestValue, out var address) && ParseNetwork(conditionValue) is { } network
                    && network.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
            case Kind.Numeric:
                return double.TryParse(requestValue, NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
                    && Order(a.CompareTo(double.Parse(conditionValue, CultureInfo.InvariantCulture)), comparison);
            case Kind.Date:
                return ParseDate(requestValue) is { } d && Order(d.CompareTo(ParseDate(conditionValue)!.Value), comparison);
            default: return false;
        }
    }

    private static bool Order(int sign, Comparison comparison) => comparison switch
    {
        Comparison.Equals => sign == 0,
        Comparison.LessThan => sign < 0,
        Comparison.LessThanEquals => sign <= 0,
        Comparison.GreaterThan => sign > 0,
        Comparison.GreaterThanEquals => sign >= 0,
        _ => sign != 0,
    };

    /// <summary>An ISO 8601 date-time or epoch seconds, as IAM accepts both.</summary>
    private static DateTimeOffset? ParseDate(string value)
    {
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch)) return DateTimeOffset.FromUnixTimeSeconds(epoch);
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d) ? d : null;
    }

    /// <summary>A CIDR block, or a single address as its own /32 (/128).</summary>
    private static IPNetwork? ParseNetwork(string value)
    {
        if (IPNetwork.TryParse(value, out var network)) return network;
        return IPAddress.TryParse(value, out var address) ? new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128) : null;
    }
}

/// <summary>A bucket policy refused when it is put: the message is the reason S3's MalformedPolicy carries.</summary>
public sealed class PolicyException(string message) : Exception(message);
