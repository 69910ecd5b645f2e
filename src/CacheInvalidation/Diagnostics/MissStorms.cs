using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Diagnostics;

/// <summary>
/// Watches one cache's misses in fixed windows of <see cref="Window"/>: how many, over how many distinct keys, and
/// whether a window was a storm — at least <see cref="MinStormMisses"/> misses and <see cref="StormFactor"/> times the
/// usual rate (an exponential average of the windows before, starting at 0: a cold start is a storm). A storm is attributed to what preceded it: a broad
/// invalidation run or announced on this node (<c>invalidation</c>), the cache's start (<c>start</c>, a deploy), or
/// nothing known (<c>unknown</c>). A miss costs an increment and one dictionary update (misses already cost a Redis
/// round trip and a source load); a window closes on the first miss or gauge reading after its end.
/// </summary>
internal sealed class MissStorms
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    public const int MinStormMisses = 100;
    public const double StormFactor = 5;
    private const int MaxTrackedKeys = 10_000;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Instruments _instruments;
    private readonly DateTimeOffset _started;
    private readonly object _roll = new();
    private ConcurrentDictionary<CacheKey, byte> _keys = new();
    private long _windowStartTicks;
    private long _misses;
    private long _lastBroadInvalidationTicks = long.MinValue;
    private double _baselinePerSecond;
    private (double Rate, double PerKey) _closed;

    public MissStorms(CacheMetrics metrics, TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
        NameTag = metrics.NameTag;
        _started = time.GetUtcNow();
        _windowStartTicks = _started.UtcTicks;
        _instruments = Instruments.For(metrics.Meter);
        _instruments.Watch(this, watching: true);
    }

    public KeyValuePair<string, object?> NameTag { get; }

    /// <summary>Counts a miss of <paramref name="key"/>.</summary>
    public void Miss(CacheKey key)
    {
        RollIfDue();
        Interlocked.Increment(ref _misses);
        ConcurrentDictionary<CacheKey, byte> keys = Volatile.Read(ref _keys);
        if (keys.Count < MaxTrackedKeys)
        {
            keys.TryAdd(key, 0);
        }
    }

    /// <summary>An invalidation that may void many entries at once (namespace, all, tenant) ran or was announced.</summary>
    public void BroadInvalidation() => Interlocked.Exchange(ref _lastBroadInvalidationTicks, _time.GetUtcNow().UtcTicks);

    /// <summary>The last closed window: misses per second, and misses per distinct key (1 when no key missed twice).</summary>
    public (double Rate, double PerKey) LastWindow
    {
        get
        {
            RollIfDue();
            lock (_roll)
            {
                return _closed;
            }
        }
    }

    public void Dispose() => _instruments.Watch(this, watching: false);

    private void RollIfDue()
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (now.UtcTicks - Interlocked.Read(ref _windowStartTicks) < Window.Ticks)
        {
            return;
        }

        lock (_roll)
        {
            var start = new DateTimeOffset(_windowStartTicks, TimeSpan.Zero);
            if (now - start < Window)
            {
                return;
            }

            long misses = Interlocked.Exchange(ref _misses, 0);
            ConcurrentDictionary<CacheKey, byte> keys = Interlocked.Exchange(ref _keys, new ConcurrentDictionary<CacheKey, byte>());
            double seconds = (now - start).TotalSeconds;
            double rate = misses / seconds;
            _closed = (rate, keys.IsEmpty ? 0 : (double)misses / keys.Count);
            Interlocked.Exchange(ref _windowStartTicks, now.UtcTicks);
            if (misses >= MinStormMisses && rate >= StormFactor * _baselinePerSecond)
            {
                string cause = Cause(start);
                _instruments.Storms.Add(1, NameTag, new("cacheinvalidation.cause", cause));
                Log.MissStorm(_logger, NameTag.Value as string ?? string.Empty, misses, keys.Count, seconds, cause);
            }

            // The usual rate follows traffic within a few windows, so a lasting higher load stops counting as a storm.
            _baselinePerSecond = (0.8 * _baselinePerSecond) + (0.2 * rate);
        }
    }

    private string Cause(DateTimeOffset windowStart)
    {
        long broad = Interlocked.Read(ref _lastBroadInvalidationTicks);
        if (broad != long.MinValue && broad >= (windowStart - Window).UtcTicks)
        {
            return "invalidation";
        }

        return windowStart - _started < Window + Window ? "start" : "unknown";
    }

    /// <summary>The storm instruments of one meter, created once per meter.</summary>
    private sealed class Instruments
    {
        private static readonly ConditionalWeakTable<Meter, Instruments> ByMeter = new();
        private readonly ConcurrentDictionary<MissStorms, byte> _watched = new();

        private Instruments(Meter meter)
        {
            Storms = meter.CreateCounter<long>("cacheinvalidation.misses.storms", "{storm}", $"Windows of {Window.TotalSeconds:0} s with at least {MinStormMisses} misses at {StormFactor:0}× the usual rate or more, by cause: invalidation (after a namespace, all or tenant invalidation), start (the cache's first windows: a deploy), unknown.");
            meter.CreateObservableGauge("cacheinvalidation.misses.rate", () => Observe(w => w.Rate), "{miss}/s", "Misses per second over the last closed window.");
            meter.CreateObservableGauge("cacheinvalidation.misses.per_key", () => Observe(w => w.PerKey), "{miss}", "Misses per distinct key missed over the last closed window: above 1, the same keys miss again and again (a storm on hot keys).");
        }

        public Counter<long> Storms { get; }

        public static Instruments For(Meter meter) => ByMeter.GetValue(meter, static m => new Instruments(m));

        public void Watch(MissStorms storms, bool watching)
        {
            if (watching)
            {
                _watched.TryAdd(storms, 0);
            }
            else
            {
                _watched.TryRemove(storms, out _);
            }
        }

        private IEnumerable<Measurement<double>> Observe(Func<(double Rate, double PerKey), double> read)
        {
            foreach (MissStorms storms in _watched.Keys)
            {
                yield return new Measurement<double>(read(storms.LastWindow), storms.NameTag);
            }
        }
    }
}
