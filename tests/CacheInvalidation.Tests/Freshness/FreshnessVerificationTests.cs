using System.Collections.Concurrent;
using CacheInvalidation.Freshness;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Tests.Freshness;

/// <summary>
/// Freshness verification against a real Redis: the application's source of truth is a dictionary the tests change
/// without telling the cache — the incident verification exists to find.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class FreshnessVerificationTests(RedisFixture redis)
{
    [Fact]
    public async Task A_stale_entry_is_found_by_the_continuous_sampler_within_one_pass_over_the_cache()
    {
        const int entries = 60;
        var source = new Source();
        await using ServiceProvider provider = Build(source, o =>
        {
            o.SamplesPerSecond = 10_000; // a pass takes milliseconds; the pace is what the benchmark measures
            o.ContinuousSampleSize = entries;
            o.RecheckDelay = TimeSpan.FromMilliseconds(20);
        });
        var verifier = (FreshnessVerifier)provider.GetRequiredService<ICacheFreshnessVerifier>();
        await source.SeedAsync(provider.GetRequiredService<ISmartCache>(), entries);
        source.ChangeBehindTheCache(17);

        using var stop = new CancellationTokenSource();
        Task sampler = verifier.RunContinuousAsync(stop.Token);
        await Eventually.HoldsAsync(() => verifier.LastReport is not null, "the sampler reports on its first pass");
        await stop.CancelAsync();
        await sampler;

        // One pass draws every entry once (a reservoir as large as the cache): the stale one is in it, whatever the order.
        FreshnessReport first = verifier.LastReport!;
        Assert.Equal(entries, first.Sampled);
        Assert.Equal(1, first.Divergent);
        Assert.Equal(CacheKey.Entity("product", 17), Assert.Single(first.DivergentKeys));
        Assert.True(first.ThresholdExceeded);
    }

    [Fact]
    public async Task One_percent_stale_of_ten_thousand_is_reported_within_the_stated_bound()
    {
        const int entries = 10_000;
        var source = new Source();
        await using ServiceProvider provider = Build(source, o => o.RecheckDelay = TimeSpan.FromMilliseconds(20));
        ICacheFreshnessVerifier verifier = provider.GetRequiredService<ICacheFreshnessVerifier>();
        await source.SeedAsync(provider.GetRequiredService<ISmartCache>(), entries);
        for (int id = 0; id < entries; id += 100)
        {
            source.ChangeBehindTheCache(id); // ids 0, 100, …, 9,900: exactly 1%
        }

        FreshnessReport sample = await verifier.VerifyAsync(2_000, confidence: 0.999);

        Assert.Equal(entries, sample.KeysScanned);
        Assert.Equal(2_000, sample.Verified);
        Assert.Equal(entries, sample.Population);
        Assert.InRange(0.01, sample.LowerBound, sample.UpperBound);
        Assert.True(sample.UpperBound - sample.LowerBound < 0.02, $"a 2,000-entry sample bounds 1% tighter than that: {sample}");
        Assert.Equal((double)sample.Divergent / sample.Verified, sample.Estimate);
        Assert.All(sample.DivergentKeys, k => Assert.Equal(0, long.Parse(k.Id, System.Globalization.CultureInfo.InvariantCulture) % 100));
        FreshnessNamespaceReport product = Assert.Single(sample.Namespaces);
        Assert.Equal(("product", DataClass.Important, 2_000, sample.Divergent), (product.Namespace, product.DataClass, product.Verified, product.Divergent));

        // A sample as large as the cache verifies every entry: the exact share, an interval of width 0.
        FreshnessReport census = await verifier.VerifyAsync(entries);
        Assert.Equal(0, census.Errors);
        Assert.Equal((100, 0.01, 0.01, 0.01), (census.Divergent, census.Estimate, census.LowerBound, census.UpperBound));
        Assert.Equal(100, census.DivergentKeys.Count);
    }

    [Fact]
    public async Task Entries_changed_and_invalidated_meanwhile_are_not_divergent_and_invalidate_divergent_repairs()
    {
        var source = new Source();
        await using ServiceProvider provider = Build(source, o =>
        {
            o.InvalidateDivergent = true;
            o.RecheckDelay = TimeSpan.FromMilliseconds(20);
        });
        ICacheFreshnessVerifier verifier = provider.GetRequiredService<ICacheFreshnessVerifier>();
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        await source.SeedAsync(cache, 20);
        source.ChangeBehindTheCache(3);
        source.ChangeBehindTheCache(4);
        await cache.InvalidateKeyAsync(CacheKey.Entity("product", 4)); // the library was told about this one

        FreshnessReport found = await verifier.VerifyAsync(100);
        FreshnessReport after = await verifier.VerifyAsync(100);

        Assert.Equal((1, 1), (found.Divergent, found.Invalidated));
        Assert.Equal(CacheKey.Entity("product", 3), Assert.Single(found.DivergentKeys));
        Assert.Equal(0, after.Divergent);
        Assert.Equal(source.Current(3), await cache.GetOrSetAsync(CacheKey.Entity("product", 3), ct => source.LoadAsync(3)));
    }

    [Fact]
    public async Task Stale_reads_move_the_slo_figure_of_their_class_until_the_entry_is_invalidated()
    {
        var source = new Source();
        await using ServiceProvider provider = Build(source, o => o.RecheckDelay = TimeSpan.FromMilliseconds(20), cache =>
            cache.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(10))); // no staleness budget
        using var gauges = new FreshnessGauges(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        await source.SeedAsync(cache, 10); // 10 reads
        Assert.Equal(1.0, gauges.Slo("important"));
        source.ChangeBehindTheCache(5);
        await provider.GetRequiredService<ICacheFreshnessVerifier>().VerifyAsync(100);

        for (int round = 0; round < 10; round++)
        {
            for (int id = 0; id < 10; id++)
            {
                await cache.GetOrSetAsync(CacheKey.Entity("product", id), ct => source.LoadAsync(id)); // 100 reads, 10 of id 5
            }
        }

        Assert.Equal(10, gauges.StaleReads("important", withinBudget: false));
        Assert.Equal(1.0 - (10.0 / 110), gauges.Slo("important"), 9);
        Assert.Equal(1.0, gauges.Slo("best_effort"));
        Assert.Equal(0.1, gauges.Divergence(), 9);

        await cache.InvalidateKeyAsync(CacheKey.Entity("product", 5));
        await cache.GetOrSetAsync(CacheKey.Entity("product", 5), ct => source.LoadAsync(5));
        Assert.Equal(10, gauges.StaleReads("important", withinBudget: false));
        Assert.Equal(1.0 - (10.0 / 111), gauges.Slo("important"), 9);
    }

    [Fact]
    public async Task Stale_reads_inside_the_class_budget_are_counted_but_keep_the_slo()
    {
        var source = new Source();
        await using ServiceProvider provider = Build(source, o => o.RecheckDelay = TimeSpan.FromMilliseconds(20)); // Important: 10 s budget
        using var gauges = new FreshnessGauges(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        await source.SeedAsync(cache, 4);
        source.ChangeBehindTheCache(2);
        await provider.GetRequiredService<ICacheFreshnessVerifier>().VerifyAsync(100);

        await cache.GetOrSetAsync(CacheKey.Entity("product", 2), ct => source.LoadAsync(2));

        Assert.Equal(1, gauges.StaleReads("important", withinBudget: true));
        Assert.Equal(0, gauges.StaleReads("important", withinBudget: false));
        Assert.Equal(1.0, gauges.Slo("important"));
    }

    [Fact]
    public async Task A_divergence_past_the_threshold_degrades_the_health_check()
    {
        var source = new Source();
        await using ServiceProvider provider = Build(source, o => o.RecheckDelay = TimeSpan.FromMilliseconds(20), health: true);
        HealthCheckService health = provider.GetRequiredService<HealthCheckService>();
        await source.SeedAsync(provider.GetRequiredService<ISmartCache>(), 10);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        source.ChangeBehindTheCache(1);
        await provider.GetRequiredService<ICacheFreshnessVerifier>().VerifyAsync(100);

        HealthReportEntry entry = (await health.CheckHealthAsync()).Entries["smartcache"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("freshness", entry.Description, StringComparison.Ordinal);
        Assert.Equal(0.1, (double)entry.Data["freshness.divergence"], 9);
    }

    [Fact]
    public async Task Bad_arguments_and_options_name_what_is_wrong()
    {
        var source = new Source();
        await using ServiceProvider provider = Build(source, _ => { });
        ICacheFreshnessVerifier verifier = provider.GetRequiredService<ICacheFreshnessVerifier>();
        Assert.Equal("sampleSize", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await verifier.VerifyAsync(0))).ParamName);
        Assert.Equal("confidence", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await verifier.VerifyAsync(10, 1.0))).ParamName);

        var options = new FreshnessOptions();
        Assert.Equal("load", Assert.Throws<ArgumentNullException>(() => options.Source<string>("product", (Func<CacheKey, CancellationToken, Task<string?>>)null!)).ParamName);
        Assert.Equal("namespace", Assert.Throws<ArgumentException>(() => options.Source("bad*ns", (k, ct) => Task.FromResult<string?>(null))).ParamName);
        options.Source("product", (k, ct) => Task.FromResult<string?>(null));
        Assert.Equal("namespace", Assert.Throws<ArgumentException>(() => options.Source("product", (k, ct) => Task.FromResult<string?>(null))).ParamName);

        var services = new ServiceCollection();
        ISmartCacheBuilder builder = services.AddSmartCache(o => o.Configuration = redis.ConnectionString);
        builder.AddFreshnessVerification(o => o.SamplesPerSecond = -1);
        Assert.Throws<InvalidOperationException>(() => builder.AddFreshnessVerification(o => o.Source("x", (k, ct) => Task.FromResult<string?>(null))));
        await using ServiceProvider invalid = services.BuildServiceProvider();
        var failure = Assert.Throws<OptionsValidationException>(() => invalid.GetRequiredService<ICacheFreshnessVerifier>());
        Assert.Contains("SamplesPerSecond", failure.Message, StringComparison.Ordinal);
        Assert.Contains("names no source", failure.Message, StringComparison.Ordinal);
    }

    private ServiceProvider Build(Source source, Action<FreshnessOptions> configure, Action<SmartCacheOptions>? cacheOptions = null, bool health = false)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        string prefix = "fresh" + Guid.NewGuid().ToString("N")[..8]; // outside: options may be built more than once
        services.AddSmartCache(o =>
        {
            o.Configuration = redis.ConnectionString;
            o.KeyPrefix = prefix;
            TestCache.Patient(o);
            cacheOptions?.Invoke(o);
        }).AddFreshnessVerification(o =>
        {
            o.Source("product", (key, ct) => source.LoadAsync(long.Parse(key.Id, System.Globalization.CultureInfo.InvariantCulture)).AsTask());
            configure(o);
        });
        if (health)
        {
            services.AddHealthChecks().AddSmartCache();
        }

        return services.BuildServiceProvider();
    }

    /// <summary>The source of truth: product id → name.</summary>
    private sealed class Source
    {
        private readonly ConcurrentDictionary<long, string> _rows = new();

        public string Current(long id) => _rows.GetOrAdd(id, i => "product " + i);

        public ValueTask<string?> LoadAsync(long id) => ValueTask.FromResult<string?>(Current(id));

        /// <summary>The row changes and nobody invalidates: the cache now serves a value the source no longer has.</summary>
        public void ChangeBehindTheCache(long id) => _rows[id] = "renamed product " + id;

        public Task SeedAsync(ISmartCache cache, int count) =>
            Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) =>
                await cache.GetOrSetAsync(CacheKey.Entity("product", id), _ => LoadAsync(id), cancellationToken: ct));
    }
}
