using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Freshness;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CacheInvalidation.Tests.Observability;

/// <summary>Miss storms, keyspace churn and source fallback latency, measured on a real Redis with a manual clock.</summary>
[Collection(RedisCollection.Name)]
public sealed class DeploySignalTests(RedisFixture redis)
{
    [Fact]
    public async Task Concentrated_misses_after_start_and_after_a_version_bump_are_storms_and_a_quiet_window_is_not()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using ServiceProvider provider = Build(clock);
        using var metrics = new FreshnessGauges(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();

        await ReadAsync(cache, 200); // window 1, the cold start: 200 misses over 200 keys
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(20, metrics.Gauge("cacheinvalidation.misses.rate", string.Empty), 9);
        Assert.Equal(1, metrics.Gauge("cacheinvalidation.misses.per_key", string.Empty), 9);
        Assert.Equal(1, metrics.Total("cacheinvalidation.misses.storms", "start"));

        await ReadAsync(cache, 200); // window 2: all hits
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, metrics.Gauge("cacheinvalidation.misses.rate", string.Empty));

        clock.Advance(TimeSpan.FromSeconds(30)); // past the start
        Assert.Equal(0, metrics.Gauge("cacheinvalidation.misses.rate", string.Empty));
        await cache.InvalidateNamespaceVersionAsync("product");
        await ReadAsync(cache, 200); // window 4: every entry voided at once
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(20, metrics.Gauge("cacheinvalidation.misses.rate", string.Empty), 9);

        Assert.Equal((1, 1, 0), (metrics.Total("cacheinvalidation.misses.storms", "start"), metrics.Total("cacheinvalidation.misses.storms", "invalidation"), metrics.Total("cacheinvalidation.misses.storms", "unknown")));
    }

    [Fact]
    public async Task Churn_counts_entries_written_and_removed_and_the_fallback_latency_says_why_the_source_was_read()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using ServiceProvider provider = Build(clock);
        using var metrics = new FreshnessGauges(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        await ReadAsync(cache, 10);

        await cache.InvalidateKeyAsync(CacheKey.Entity("product", 1));
        await cache.InvalidateKeyAsync(CacheKey.Entity("product", 1)); // already gone: nothing removed
        await cache.InvalidateNamespaceAsync("product");

        Assert.Equal(10, metrics.Total("cacheinvalidation.writes", "written"));
        Assert.Equal(1, metrics.Total("cacheinvalidation.entries.removed", "key"));
        Assert.Equal(9, metrics.Total("cacheinvalidation.entries.removed", "namespace"));
        Assert.Contains("cacheinvalidation.factory.duration/success,miss", metrics.ToString(), StringComparison.Ordinal);
    }

    private static Task ReadAsync(ISmartCache cache, int count) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
            await cache.GetOrSetAsync(CacheKey.Entity("product", id), _ => ValueTask.FromResult(id), cancellationToken: ct));

    private ServiceProvider Build(FakeTimeProvider clock)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<TimeProvider>(clock);
        string prefix = "signals" + Guid.NewGuid().ToString("N")[..8];
        services.AddSmartCache(o =>
        {
            TestCache.Patient(o);
            o.Configuration = redis.ConnectionString;
            o.KeyPrefix = prefix;
            o.LocalCache.Enabled = false; // every read reaches Redis: hits and misses are Redis's
        });
        return services.BuildServiceProvider();
    }
}
