using Coffre.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Xunit;

namespace Coffre.Server.Tests.Startup;

public sealed class CoffreServerBuilderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("coffre-builder-").FullName;

    [Fact]
    public void Reads_appsettings_from_the_content_root_once_without_watching_it()
    {
        File.WriteAllText(Path.Combine(_root, "appsettings.json"), """{ "Coffre": { "Region": "eu-west-3" } }""");
        var builder = CoffreServer.CreateBuilder(_root);

        Assert.Equal("eu-west-3", CoffreConfiguration.Bind(builder.Configuration).Region);
        var files = ((IConfigurationRoot)builder.Configuration).Providers.OfType<JsonConfigurationProvider>().ToList();
        Assert.Contains(files, f => f.Source.Path == "appsettings.json");
        // A watched content root would wake a file watcher for every blob written under ./coffre-data.
        Assert.All(files, f => Assert.False(f.Source.ReloadOnChange, $"{f.Source.Path} is watched for changes"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
