using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CacheInvalidation.Diagnostics;

namespace CacheInvalidation.Tests.Integration;

/// <summary>Sums the library's counters by instrument name and tags while it lives.</summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public MetricRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CacheTelemetry.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            // The cache's name tag is on every measurement; keys show the other tags' values (cacheinvalidation.writes/refused).
            string[] values = tags.ToArray().Where(t => t.Key != CacheTelemetry.CacheNameAttribute).Select(t => t.Value?.ToString() ?? string.Empty).ToArray();
            string tag = values.Length == 0 ? string.Empty : "/" + string.Join(",", values);
            _totals.AddOrUpdate(instrument.Name + tag, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>The total of an instrument, e.g. <c>cacheinvalidation.requests/hit</c> or <c>cacheinvalidation.entries.corrupt</c>.</summary>
    public long this[string name] => _totals.GetValueOrDefault(name);

    /// <summary>Every total, for a failure message.</summary>
    public override string ToString() => string.Join(", ", _totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));

    public void Dispose() => _listener.Dispose();
}
