using Coffre.Server.Hosting;

namespace Coffre.Server.Tests.Startup;

/// <summary>Coffre:Database and Coffre:DatabasePasswordFile are checked up front, every problem listed, no password repeated.</summary>
public sealed class DatabaseConfigurationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("coffre-dbconfig-").FullName;

    [Fact]
    public void A_usable_connection_string_is_valid_and_the_password_file_is_read_into_it()
    {
        var file = Path.Combine(_dir, "password");
        File.WriteAllText(file, "s3cret-from-file\n");
        var options = new CoffreServerOptions { Database = "Host=db.internal;Database=coffre;Username=coffre;SSL Mode=VerifyFull", DatabasePasswordFile = file };
        Assert.Empty(ConfigurationCheck.Validate(options));
        var location = DeploymentLocation.Of(options, _dir);
        Assert.Contains("Password=s3cret-from-file", location.Database);
        Assert.DoesNotContain("s3cret", location.ToString());
        Assert.Contains("'coffre' on db.internal:5432", location.ToString());
    }

    [Fact]
    public void Every_problem_of_the_database_settings_is_listed_without_the_password()
    {
        var errors = ConfigurationCheck.Validate(new CoffreServerOptions
        {
            Database = "Username=coffre;Password=hunter2-secret",
            DatabasePasswordFile = Path.Combine(_dir, "missing"),
        });
        Assert.Contains(errors, e => e == "Coffre:Database: names no Host.");
        Assert.Contains(errors, e => e == "Coffre:Database: names no Database.");
        Assert.Contains(errors, e => e.StartsWith("Coffre:Database: holds a Password and DatabasePasswordFile is set too", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Coffre:Database: DatabasePasswordFile", StringComparison.Ordinal) && e.Contains("does not exist"));
        Assert.All(errors, e => Assert.DoesNotContain("hunter2", e));
        Assert.Contains(ConfigurationCheck.Validate(new CoffreServerOptions { Database = "Hots=db" }), e => e.StartsWith("Coffre:Database: is not a valid connection string", StringComparison.Ordinal));
        Assert.Contains(ConfigurationCheck.Validate(new CoffreServerOptions { DatabasePasswordFile = "/x" }), e => e.StartsWith("Coffre:DatabasePasswordFile: is set but Database is not", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
