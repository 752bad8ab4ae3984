namespace Coffre.Server.Tests.Gateway.Clients;

/// <summary>
/// One fresh gateway per test and the command-line clients pointed at it; scratch directories made with
/// <see cref="ScratchDirectory"/> are removed afterwards.
/// </summary>
public abstract class GatewayClientTests(string scratchPrefix = "coffre-client-") : IAsyncLifetime
{
    private readonly List<string> _scratch = [];

    protected GatewayServer Gateway { get; private set; } = null!;
    protected CliClients Cli { get; private set; } = null!;

    protected virtual Task<GatewayServer> StartGatewayAsync() => GatewayServer.StartAsync();

    public async Task InitializeAsync()
    {
        Gateway = await StartGatewayAsync();
        Cli = new CliClients(Gateway);
    }

    public async Task DisposeAsync()
    {
        Cli.Dispose();
        await Gateway.DisposeAsync();
        foreach (var d in _scratch)
            try { System.IO.Directory.Delete(d, recursive: true); } catch (IOException) { }
    }

    protected string ScratchDirectory()
    {
        var d = System.IO.Directory.CreateTempSubdirectory(scratchPrefix).FullName;
        _scratch.Add(d);
        return d;
    }
}
