using System.Diagnostics;
using System.Diagnostics.Metrics;
using CacheInvalidation.Diagnostics;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// Counts SmartCache reads by result (the <c>cacheinvalidation.requests</c> counter of the library's meter), to check that a read was
/// served from the local tier. The callback runs in the reading call, so a count taken around a read made by the only
/// reader is exact. Dispose it before measuring: an enabled listener is on the hit path.
/// </summary>
public sealed class LocalProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _local;
    private long _other;

    public LocalProbe()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CacheTelemetry.MeterName && instrument.Name == "cacheinvalidation.requests")
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) =>
        {
            var probe = (LocalProbe)state!;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "cacheinvalidation.result")
                {
                    if (tag.Value as string == "local")
                    {
                        Interlocked.Add(ref probe._local, value);
                    }
                    else
                    {
                        Interlocked.Add(ref probe._other, value);
                    }
                }
            }
        });
        _listener.Start();
    }

    /// <summary>Reads served from the local tier so far.</summary>
    public long Local => Interlocked.Read(ref _local);

    /// <summary>Reads with any other result (hit, miss, stale, bypass, pending, error) so far.</summary>
    public long Other => Interlocked.Read(ref _other);

    /// <summary>Runs <paramref name="read"/> until one call is served locally (false if none is within <paramref name="timeout"/>).</summary>
    public async Task<bool> UntilLocalAsync(Func<Task> read, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            long before = Local;
            await read();
            if (Local > before)
            {
                return true;
            }

            await Task.Delay(5);
        }

        return false;
    }

    public void Dispose() => _listener.Dispose();
}
