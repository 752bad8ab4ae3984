using System.Globalization;

namespace Coffre.Cli;

/// <summary>Durations as people write them on a command line: 90d, 12h, 30m, 45s.</summary>
public static class Durations
{
    public static TimeSpan Parse(string text)
    {
        var t = text.Trim();
        if (t.Length >= 2 && double.TryParse(t[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            switch (char.ToLowerInvariant(t[^1]))
            {
                case 'd': return TimeSpan.FromDays(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 's': return TimeSpan.FromSeconds(n);
            }
        }
        throw new CliException(ExitCodes.Usage, $"'{text}' is not a duration: write a positive number followed by d, h, m or s (e.g. 90d).");
    }

    public static string Format(TimeSpan span) =>
        span.TotalDays >= 1 && span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.TotalDays:0}d"
        : span.TotalHours >= 1 && span.Ticks % TimeSpan.TicksPerHour == 0 ? $"{span.TotalHours:0}h"
        : span.TotalMinutes >= 1 && span.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{span.TotalMinutes:0}m"
        : $"{span.TotalSeconds:0}s";
}
