using System.Collections.Concurrent;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheInvalidation.Freshness;

/// <summary>
/// Compares cached entries with their source of truth. Entries are drawn uniformly at random from the verified
/// namespaces (one SCAN of the tenant's keys and a reservoir), each read as a caller would (a hit only under its current
/// versions) and compared with its source; one that differs is looked at again after the recheck delay, so a value whose
/// invalidation was in flight is not counted. A confirmed divergent entry becomes a suspect of the cache's
/// <see cref="FreshnessLedger"/>: its reads count as stale reads until it expires or is invalidated.
/// </summary>
internal sealed class FreshnessVerifier : ICacheFreshnessVerifier
{
    private const double ContinuousConfidence = 0.95;

    private readonly SmartCache _cache;
    private readonly FreshnessOptions _options;
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly FreshnessMetrics _metrics;
    private FreshnessReport? _last;

    public FreshnessVerifier(SmartCache cache, FreshnessOptions options, IServiceScopeFactory scopes, ILogger? logger, TimeProvider time)
    {
        _cache = cache;
        _options = options;
        _scopes = scopes;
        _logger = logger ?? NullLogger.Instance;
        _time = time;
        _metrics = FreshnessMetrics.For(cache.Metrics.Meter);
    }

    public FreshnessReport? LastReport => Volatile.Read(ref _last);

    public async ValueTask<FreshnessReport> VerifyAsync(int sampleSize, double confidence = 0.95, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sampleSize, 1_000_000);
        if (!(confidence > 0 && confidence < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "The confidence must be strictly between 0 and 1, e.g. 0.95.");
        }

        KeyLayout layout = _cache.CurrentLayout;
        var tally = new FreshnessTally(_time.GetUtcNow());
        await RecheckSuspectsAsync(cancellationToken).ConfigureAwait(false);
        List<Drawn> sample = await FreshnessSample.DrawAsync(_cache.Keyspace, _options.Sources, layout, sampleSize, tally, cancellationToken).ConfigureAwait(false);
        var candidates = new ConcurrentBag<Candidate>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(sample, parallel, async (drawn, ct) =>
        {
            if (await FirstLookAsync(layout, drawn, tally, ct).ConfigureAwait(false) is { } candidate)
            {
                candidates.Add(candidate);
            }
        }).ConfigureAwait(false);

        if (!candidates.IsEmpty)
        {
            await Task.Delay(_options.RecheckDelay, _time, cancellationToken).ConfigureAwait(false);
            await Parallel.ForEachAsync(candidates, parallel, (candidate, ct) => new ValueTask(SecondLookAsync(layout, candidate, tally, ct))).ConfigureAwait(false);
        }

        return Publish(tally.Report(confidence, _options.DivergenceThreshold, _time.GetUtcNow()));
    }

    /// <summary>
    /// The continuous sampler: draws <see cref="FreshnessOptions.ContinuousSampleSize"/> entries, verifies them one by one
    /// at <see cref="FreshnessOptions.SamplesPerSecond"/>, reports on them, and draws again — until stopped.
    /// </summary>
    public async Task RunContinuousAsync(CancellationToken stoppingToken)
    {
        TimeSpan pace = TimeSpan.FromSeconds(1 / _options.SamplesPerSecond);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                KeyLayout layout = _cache.Layout;
                var tally = new FreshnessTally(_time.GetUtcNow());
                await RecheckSuspectsAsync(stoppingToken).ConfigureAwait(false);
                List<Drawn> pool = await FreshnessSample.DrawAsync(_cache.Keyspace, _options.Sources, layout, _options.ContinuousSampleSize, tally, stoppingToken).ConfigureAwait(false);
                if (pool.Count == 0)
                {
                    await Task.Delay(pace * 10, _time, stoppingToken).ConfigureAwait(false); // nothing cached yet
                    continue;
                }

                foreach (Drawn drawn in pool)
                {
                    await Task.Delay(pace, _time, stoppingToken).ConfigureAwait(false);
                    if (await FirstLookAsync(layout, drawn, tally, stoppingToken).ConfigureAwait(false) is { } candidate)
                    {
                        await Task.Delay(_options.RecheckDelay, _time, stoppingToken).ConfigureAwait(false);
                        await SecondLookAsync(layout, candidate, tally, stoppingToken).ConfigureAwait(false);
                    }
                }

                Publish(tally.Report(ContinuousConfidence, _options.DivergenceThreshold, _time.GetUtcNow()));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A background sampler must outlive Redis outages and failing sources: it logs and starts again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                TimeSpan delay = TimeSpan.FromSeconds(Math.Max(1, pace.TotalSeconds * 10));
                Log.FreshnessSamplerFailed(_logger, CacheName, (long)delay.TotalMilliseconds, ex);
                await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Drops the suspects whose entry is gone, expired or rewritten since (another node may have invalidated it): their
    /// reads are no longer stale. Suspects are few — each is a confirmed divergence — so this is one read each.
    /// </summary>
    private async Task RecheckSuspectsAsync(CancellationToken cancellationToken)
    {
        foreach ((string tenant, CacheKey key, byte[] value) in _cache.Freshness.Suspects().ToList())
        {
            (FreshnessOutcome? outcome, ReadOnlyMemory<byte> current, _) = await ReadAsync(_cache.LayoutFor(tenant), key, cancellationToken).ConfigureAwait(false);
            if (outcome is not FreshnessOutcome.Error && (outcome is not null || !current.Span.SequenceEqual(value)))
            {
                _cache.Freshness.Forget(tenant, key);
            }
        }
    }

    private string CacheName => _cache.Metrics.NameTag.Value as string ?? string.Empty;

    private async Task<Candidate?> FirstLookAsync(KeyLayout layout, Drawn drawn, FreshnessTally tally, CancellationToken cancellationToken)
    {
        DateTimeOffset seenAt = _time.GetUtcNow();
        (FreshnessOutcome? outcome, ReadOnlyMemory<byte> value, long freshUntilMs) = await ReadAsync(layout, drawn.Key, cancellationToken).ConfigureAwait(false);
        if (outcome is null)
        {
            outcome = await CompareAsync(drawn, value, cancellationToken).ConfigureAwait(false);
            if (outcome == FreshnessOutcome.Divergent)
            {
                return new Candidate(drawn, value.ToArray(), seenAt, freshUntilMs); // only a second look confirms it
            }
        }

        Count(tally, outcome.Value, drawn);
        return null;
    }

    private async Task SecondLookAsync(KeyLayout layout, Candidate candidate, FreshnessTally tally, CancellationToken cancellationToken)
    {
        Drawn drawn = candidate.Drawn;
        (FreshnessOutcome? outcome, ReadOnlyMemory<byte> value, _) = await ReadAsync(layout, drawn.Key, cancellationToken).ConfigureAwait(false);
        FreshnessOutcome result = outcome is not null || !value.Span.SequenceEqual(candidate.Value)
            ? FreshnessOutcome.Settled // invalidated, rewritten or expired since: what it served is gone
            : await CompareAsync(drawn, value, cancellationToken).ConfigureAwait(false) == FreshnessOutcome.Fresh ? FreshnessOutcome.Settled : FreshnessOutcome.Divergent;
        TimeSpan observedFor = _time.GetUtcNow() - candidate.FirstSeen;
        Count(tally, result, drawn, observedFor);
        if (result != FreshnessOutcome.Divergent)
        {
            return;
        }

        _cache.Freshness.Suspect(layout.Tenant, drawn.Key, candidate.Value, candidate.FirstSeen, DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(candidate.FreshUntilMs, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())));
        if (_options.InvalidateDivergent)
        {
            try
            {
                await _cache.InvalidateKeyAsync(drawn.Key, cancellationToken).ConfigureAwait(false);
                tally.Invalidated();
            }
            catch (CacheStoreException ex)
            {
                Log.FreshnessInvalidationFailed(_logger, drawn.Key.ToString(), ex);
            }
        }
    }

    /// <summary>The entry as a caller would read it: null outcome and its value when it is readable and fresh.</summary>
    private async Task<(FreshnessOutcome? Outcome, ReadOnlyMemory<byte> Value, long FreshUntilMs)> ReadAsync(KeyLayout layout, CacheKey key, CancellationToken cancellationToken)
    {
        StoredEntry stored;
        try
        {
            stored = await _cache.Store.ReadAsync(layout.Address(key), cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.FreshnessCheckFailed(_logger, key.ToString(), ex);
            return (FreshnessOutcome.Error, default, 0);
        }

        if (stored.Payload is not { } payload || !EntryCodec.TryReadValue(payload, out long freshUntilMs, out ReadOnlyMemory<byte> value))
        {
            return (FreshnessOutcome.Unreadable, default, 0);
        }

        return _time.GetUtcNow().ToUnixTimeMilliseconds() >= freshUntilMs ? (FreshnessOutcome.Expired, default, 0) : (null, value, freshUntilMs);
    }

    /// <summary>Compares with the source in a scope of its own: loaders run in parallel, and a scoped DbContext is not thread-safe.</summary>
    private async Task<FreshnessOutcome> CompareAsync(Drawn drawn, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        try
        {
            await using AsyncServiceScope scope = _scopes.CreateAsyncScope();
            return await drawn.Source.MatchesAsync(scope.ServiceProvider, drawn.Key, value, _cache.Serializer, cancellationToken).ConfigureAwait(false)
                ? FreshnessOutcome.Fresh
                : FreshnessOutcome.Divergent;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.FreshnessCheckFailed(_logger, drawn.Key.ToString(), ex);
            return FreshnessOutcome.Error;
        }
    }

    private void Count(FreshnessTally tally, FreshnessOutcome outcome, Drawn drawn, TimeSpan observedFor = default)
    {
        tally.Count(outcome, drawn.Key, drawn.Source, observedFor);
        _metrics.Samples.Add(1, _cache.Metrics.NameTag, new("cacheinvalidation.outcome", Name(outcome)));
    }

    private static string Name(FreshnessOutcome outcome) => outcome switch
    {
        FreshnessOutcome.Fresh => "fresh",
        FreshnessOutcome.Divergent => "divergent",
        FreshnessOutcome.Settled => "settled",
        FreshnessOutcome.Expired => "expired",
        FreshnessOutcome.Unreadable => "unreadable",
        _ => "error",
    };

    private FreshnessReport Publish(FreshnessReport report)
    {
        Volatile.Write(ref _last, report);
        _cache.Freshness.Divergence(report.Estimate);
        if (report.ThresholdExceeded)
        {
            Log.FreshnessThresholdExceeded(_logger, CacheName, report.ToString(), _options.DivergenceThreshold, string.Join(", ", report.DivergentKeys.Take(10)));
        }
        else
        {
            Log.FreshnessVerified(_logger, CacheName, report.ToString());
        }

        return report;
    }


    private sealed record Candidate(Drawn Drawn, byte[] Value, DateTimeOffset FirstSeen, long FreshUntilMs);
}
