using System.Globalization;

namespace Coffre.Bench.Gateway;

/// <summary>How the benchmarks summarise the rounds of one measure: the median, and the spread as min–max.</summary>
public static class Rates
{
    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>"median (min–max)", one decimal.</summary>
    public static string Summary(IEnumerable<double> values)
    {
        var v = values.ToList();
        return string.Create(CultureInfo.InvariantCulture, $"{Median(v):F1} ({v.Min():F1}–{v.Max():F1})");
    }
}
