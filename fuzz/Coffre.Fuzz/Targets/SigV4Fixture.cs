using System.Globalization;
using Coffre.Server.Signing;

namespace Coffre.Fuzz.Targets;

/// <summary>The fixed credential, clock and scope the SigV4 and aws-chunked targets verify against, so that seeds
/// signed with them pass verification and the fuzzer starts from requests the verifier accepts.</summary>
internal static class SigV4Fixture
{
    public const string AccessKeyId = "AKIDFUZZEXAMPLE";
    public const string Secret = "fuzz/secret/not/a/real/one";
    public const string Region = "us-east-1";
    public const string Host = "127.0.0.1:9000";
    public static readonly DateTimeOffset Now = new(2026, 11, 29, 11, 0, 0, TimeSpan.Zero);
    public static string Timestamp => Now.UtcDateTime.ToString(SigV4Canonicalizer.TimestampFormat, CultureInfo.InvariantCulture);
    public static string Date => Timestamp[..8];

    public static SigV4Verifier Verifier() => new(new StaticCredentialStore(AccessKeyId, Secret), new FixedClock(Now));

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
