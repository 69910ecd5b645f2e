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
            if (instrument.Meter.Name == CacheMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string tag = tags.Length == 0 ? string.Empty : "/" + string.Join(",", tags.ToArray().Select(t => t.Value));
            _totals.AddOrUpdate(instrument.Name + tag, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>The total of an instrument, e.g. <c>cache.requests/hit</c> or <c>cache.entries.corrupt</c>.</summary>
    public long this[string name] => _totals.GetValueOrDefault(name);

    /// <summary>Every total, for a failure message.</summary>
    public override string ToString() => string.Join(", ", _totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));

    public void Dispose() => _listener.Dispose();
}
