using System.CommandLine;

namespace Coffre.Cli;

/// <summary>Options every command accepts.</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Data = new("--data")
    {
        Description = $"Data directory (root seal, key store, catalog). Default: ${CliContext.DataEnvironmentVariable}, else ./{CliContext.DefaultDataDirectory}",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print machine-readable JSON on standard output",
        Recursive = true,
    };

    public static CliContext Context(ParseResult result) => new(result.GetValue(Data), result.GetValue(Json));
}
