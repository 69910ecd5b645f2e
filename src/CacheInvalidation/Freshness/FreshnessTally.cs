using System.Collections.Concurrent;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Freshness;

/// <summary>What one verification's entries turned out to be, and the report they make.</summary>
internal sealed class FreshnessTally(DateTimeOffset startedAt)
{
    private const int MaxKeysReported = 100;
    private readonly ConcurrentDictionary<string, (SourceRegistration Source, int Verified, int Divergent)> _namespaces = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<CacheKey> _divergentKeys = new();
    private int _sampled, _fresh, _divergent, _settled, _expired, _unreadable, _errors, _invalidated;
    private long _oldestDivergenceTicks;

    public long KeysScanned { get; set; }

    public void Drawn() => Interlocked.Increment(ref _sampled);

    public void Count(FreshnessOutcome outcome, CacheKey key, SourceRegistration source, TimeSpan observedFor = default)
    {
        switch (outcome)
        {
            case FreshnessOutcome.Fresh: Interlocked.Increment(ref _fresh); break;
            case FreshnessOutcome.Settled: Interlocked.Increment(ref _settled); break;
            case FreshnessOutcome.Expired: Interlocked.Increment(ref _expired); return;
            case FreshnessOutcome.Unreadable: Interlocked.Increment(ref _unreadable); return;
            case FreshnessOutcome.Error: Interlocked.Increment(ref _errors); return;
            case FreshnessOutcome.Divergent:
                Interlocked.Increment(ref _divergent);
                if (_divergentKeys.Count < MaxKeysReported)
                {
                    _divergentKeys.Enqueue(key);
                }

                long ticks = observedFor.Ticks;
                long seen;
                while (ticks > (seen = Interlocked.Read(ref _oldestDivergenceTicks)) && Interlocked.CompareExchange(ref _oldestDivergenceTicks, ticks, seen) != seen)
                {
                }

                break;
        }

        bool divergent = outcome == FreshnessOutcome.Divergent;
        _namespaces.AddOrUpdate(key.Namespace, static (_, a) => (a.source, 1, a.divergent ? 1 : 0), static (_, c, a) => (c.Source, c.Verified + 1, c.Divergent + (a.divergent ? 1 : 0)), (source, divergent));
    }

    public void Invalidated() => Interlocked.Increment(ref _invalidated);

    public FreshnessReport Report(double confidence, double threshold, DateTimeOffset completedAt)
    {
        int verified = _fresh + _divergent + _settled;
        int sampled = _sampled;
        // Entries whose check failed are readable entries of unknown state: part of the population, not of the sample —
        // so a "census" with errors is not taken for exact.
        long population = sampled == 0 ? 0 : Math.Max(verified, (long)Math.Round((double)KeysScanned * (verified + _errors) / sampled));
        double estimate = verified == 0 ? 0 : (double)_divergent / verified;
        (double lower, double upper) = ProportionBound.Interval(_divergent, verified, population, confidence);
        return new FreshnessReport
        {
            KeysScanned = KeysScanned,
            Sampled = sampled,
            Verified = verified,
            Fresh = _fresh,
            Divergent = _divergent,
            Settled = _settled,
            Expired = _expired,
            Unreadable = _unreadable,
            Errors = _errors,
            Population = population,
            Estimate = estimate,
            LowerBound = lower,
            UpperBound = upper,
            Confidence = confidence,
            OldestDivergence = TimeSpan.FromTicks(Interlocked.Read(ref _oldestDivergenceTicks)),
            Threshold = threshold,
            ThresholdExceeded = estimate > threshold,
            Invalidated = _invalidated,
            DivergentKeys = [.. _divergentKeys],
            Namespaces = [.. _namespaces.OrderBy(n => n.Key, StringComparer.Ordinal).Select(n => new FreshnessNamespaceReport(n.Key, n.Value.Source.DataClass, n.Value.Verified, n.Value.Divergent))],
            StartedAt = startedAt,
            CompletedAt = completedAt,
        };
    }
}

/// <summary>What a verified entry turned out to be.</summary>
internal enum FreshnessOutcome
{
    Fresh,
    Divergent,
    Settled,
    Expired,
    Unreadable,
    Error,
}
