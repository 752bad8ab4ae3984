using Coffre.Kms;
using Coffre.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.Auth;

/// <summary>
/// Applies access-key changes made outside this server (the CLI on the same data directory, another instance)
/// within <see cref="CoffreServerOptions.AccessKeyRefreshInterval"/>: each tick reads the store's access-key generation
/// and re-reads the keys only when it moved. Runs off the request path, so lookups only read a dictionary.
/// </summary>
public sealed class AccessKeyRefresher(AccessKeyDirectory directory, CoffreServerOptions options, TimeProvider time, ILogger<AccessKeyRefresher> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.AccessKeyRefreshInterval, time);
        var failing = false;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                directory.Refresh();
                if (failing) log.LogInformation("Stored access keys readable again");
                failing = false;
            }
            catch (KmsException e)
            {
                // Fail closed: Refresh dropped the stored keys; configured keys and the root credentials keep working.
                if (!failing) log.LogError("Stored access keys cannot be read, so they are refused until they can: {Message}", e.Message);
                failing = true;
            }
        }
    }
}
