using Coffre.Server.Hosting;
using Coffre.Server.Xks;

namespace Coffre.Server.Tests.Xks;

/// <summary>The "Coffre:Xks" section is checked up front with the spec's limits, every problem listed, no secret shown.</summary>
public sealed class XksConfigurationTests
{
    [Fact]
    public void The_issue_shaped_configuration_is_valid()
    {
        var options = new CoffreServerOptions { Xks = XksTestServer.Options() };
        Assert.Empty(ConfigurationCheck.Validate(options));
    }

    [Fact]
    public void Every_problem_is_listed_by_setting_without_the_secret()
    {
        const string shortSecret = "tooShortSecretValue";
        var options = new CoffreServerOptions
        {
            Xks = new XksOptions
            {
                Stores =
                [
                    new XksStoreOptions
                    {
                        UriPrefix = "bad prefix!", AccessKeyId = "lowercase-not-base32", SecretAccessKey = shortSecret,
                        Keys = new Dictionary<string, XksKeyOptions>
                        {
                            ["bad/id"] = new() { Key = "finance" },
                            ["nokey"] = new() { Key = "" },
                            ["nouse"] = new() { Key = "finance", Usage = [] },
                            ["sign"] = new() { Key = "finance", Usage = ["SIGN"] },
                        },
                    },
                    new XksStoreOptions
                    {
                        UriPrefix = "/" + new string('a', 130), AccessKeyId = "AAAAAAAAAAAAAAAAAAAA", SecretAccessKey = new string('A', 43),
                        AdditionalCredentials = [new XksCredentialOptions { AccessKeyId = "AAAAAAAAAAAAAAAAAAAA", SecretAccessKey = new string('B', 44) }],
                    },
                ],
                ClientCertificate = new XksClientCertificateOptions { CaPath = "/nonexistent/ca.pem", Subject = "" },
                FleetSize = 0,
            },
        };
        var errors = ConfigurationCheck.Validate(options);
        string[] expected =
        [
            "Coffre:Xks:Stores:0:UriPrefix", "Coffre:Xks:Stores:0:AccessKeyId", "Coffre:Xks:Stores:0:SecretAccessKey",
            "Coffre:Xks:Stores:0:Keys:bad/id", "Coffre:Xks:Stores:0:Keys:nokey:Key", "Coffre:Xks:Stores:0:Keys:nouse:Usage",
            "Coffre:Xks:Stores:0:Keys:sign:Usage", "Coffre:Xks:Stores:1:UriPrefix", "Coffre:Xks:Stores:1:AdditionalCredentials:0:AccessKeyId",
            "Coffre:Xks:ClientCertificate:", "Coffre:Xks:ClientCertificate:CaPath", "Coffre:Xks:ClientCertificate:Subject", "Coffre:Xks:FleetSize",
        ];
        foreach (var setting in expected)
            Assert.True(errors.Any(e => e.StartsWith(setting, StringComparison.Ordinal)), $"no error for {setting} in:\n{string.Join('\n', errors)}");
        Assert.DoesNotContain(errors, e => e.Contains(shortSecret, StringComparison.Ordinal));
        Assert.Throws<InvalidOperationException>(() => ConfigurationCheck.ThrowIfInvalid(options));
    }

    [Fact]
    public void A_dedicated_listener_off_loopback_needs_a_certificate()
    {
        var options = new CoffreServerOptions { Xks = XksTestServer.Options() };
        options.Xks.Listen = "0.0.0.0:8443";
        Assert.Contains(ConfigurationCheck.Validate(options), e => e.StartsWith("Coffre:Xks:Listen", StringComparison.Ordinal) && e.Contains("HTTPS"));
    }
}
