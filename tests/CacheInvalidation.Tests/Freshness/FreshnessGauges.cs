using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CacheInvalidation.Tests.Freshness;

/// <summary>Reads the freshness instruments of one service provider's meter (its <see cref="IMeterFactory"/>).</summary>
internal sealed class FreshnessGauges : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _last = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public FreshnessGauges(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name.StartsWith("cacheinvalidation.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => _last[Key(instrument.Name, tags)] = value);
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _totals.AddOrUpdate(Key(instrument.Name, tags), value, (_, total) => total + value));
        _listener.Start();
    }

    public double Slo(string dataClass) => Gauge("cacheinvalidation.freshness.slo", dataClass);

    public double Divergence() => Gauge("cacheinvalidation.freshness.divergence", string.Empty);

    public double Gauge(string name, string tags)
    {
        _listener.RecordObservableInstruments();
        return _last.TryGetValue(name + "/" + tags, out double value) ? value : double.NaN;
    }

    public long StaleReads(string dataClass, bool withinBudget) =>
        Total("cacheinvalidation.reads.stale", dataClass + "," + withinBudget);

    public long Total(string name, string tags) => _totals.GetValueOrDefault(name + "/" + tags);

    public override string ToString() => string.Join(", ", _totals.Select(t => $"{t.Key}={t.Value}").Concat(_last.Select(g => $"{g.Key}={g.Value}")));

    public void Dispose() => _listener.Dispose();

    /// <summary>The instrument and its tags' values but the cache's name, e.g. <c>cacheinvalidation.reads.stale/important,False</c>.</summary>
    private static string Key(string name, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var values = new List<string>();
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            if (tag.Key != "cacheinvalidation.cache.name")
            {
                values.Add(tag.Value?.ToString() ?? string.Empty);
            }
        }

        return name + "/" + string.Join(",", values);
    }
}
