using System.Globalization;

namespace CyberHub.Bench.Load.Platform;

/// <summary>
/// Reads a service's <c>/metrics</c> (Prometheus text format): the named series, each summed over its labels, or over
/// the labels that contain a text (<c>"series|text"</c>).
/// </summary>
public static class PrometheusText
{
    public static async Task<Dictionary<string, double>> ReadAsync(HttpClient http, Uri metrics, params string[] names)
    {
        var values = new Dictionary<string, double>();
        try
        {
            var text = await http.GetStringAsync(metrics);
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }
                var name = line[..line.IndexOfAny(['{', ' '])];
                if (!double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    continue;
                }
                foreach (var wanted in names)
                {
                    // "series|text": only the lines of that series whose labels contain the text.
                    var bar = wanted.IndexOf('|');
                    if (bar < 0 ? wanted == name : wanted.AsSpan(0, bar).SequenceEqual(name) && line.Contains(wanted[(bar + 1)..], StringComparison.Ordinal))
                    {
                        values[wanted] = values.GetValueOrDefault(wanted) + value;
                    }
                }
            }
        }
        catch (HttpRequestException)
        {
            // A missed scrape leaves the series out; callers read them with a default.
        }
        return values;
    }
}
