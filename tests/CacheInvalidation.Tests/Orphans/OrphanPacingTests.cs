using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;

namespace CacheInvalidation.Tests.Orphans;

[Collection(RedisCollection.Name)]
public sealed class OrphanPacingTests(RedisFixture redis)
{
    /// <summary>
    /// 50 orphans in the root namespace: the scan then finds entries only (no namespace version key matches its pattern),
    /// so every page is a full batch of entries.
    /// </summary>
    private static async Task<SmartCache> FiftyOrphansAsync(RedisFixture redis)
    {
        SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        for (int i = 0; i < 50; i++)
        {
            await cache.SetAsync(CacheKey.Create("r" + i), i, OrphanSeed.Entry(i));
        }

        await cache.InvalidateAllAsync();
        return cache;
    }

    [Theory]
    [InlineData(10, 10, 5, 1.0)] // 5 batches of 10 entries at 10 entries/s: one second after each
    [InlineData(25, 10, 2, 2.5)]
    [InlineData(10, 25, 5, 0.4)]
    public async Task Removal_is_paced_to_the_keys_per_second(int batchSize, int keysPerSecond, int batches, double secondsPerBatch)
    {
        using SmartCache cache = await FiftyOrphansAsync(redis);
        var clock = new PacingClock();
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache, clock);

        OrphanReport report = await admin.RemoveOrphansAsync("ops", "test", new OrphanCleanupOptions { BatchSize = batchSize, KeysPerSecond = keysPerSecond });

        Assert.Equal(50, report.Removed);
        Assert.Equal(Enumerable.Repeat(TimeSpan.FromSeconds(secondsPerBatch), batches), clock.Delays);
        Assert.Equal(TimeSpan.FromSeconds(50.0 / keysPerSecond), report.Elapsed); // the clock moved only by the pacing
    }

    [Fact]
    public async Task Pace_counts_entries_checked_not_other_keys_the_scan_returns()
    {
        using SmartCache cache = TestCache.Create(redis, OrphanSeed.Options);
        for (int i = 0; i < 50; i++)
        {
            await cache.SetAsync(CacheKey.Entity("items", i), i, OrphanSeed.Entry(i));
        }

        await cache.InvalidateAllAsync();
        var clock = new PacingClock();
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache, clock);

        // The scan's pages also hold the namespace's version keys: batches then carry fewer entries, and wait less.
        OrphanReport report = await admin.RemoveOrphansAsync("ops", "test", new OrphanCleanupOptions { BatchSize = 10, KeysPerSecond = 10 });

        Assert.Equal(50, report.Removed);
        Assert.Equal(TimeSpan.FromSeconds(5), clock.Delays.Aggregate(TimeSpan.Zero, (sum, delay) => sum + delay));
        Assert.All(clock.Delays, delay => Assert.InRange(delay, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(1)));
        Assert.True(report.Scanned > report.Entries);
    }

    [Fact]
    public async Task Removal_without_a_rate_limit_never_waits()
    {
        using SmartCache cache = await FiftyOrphansAsync(redis);
        var clock = new PacingClock();
        SmartCacheAdministration admin = OrphanSeed.Admin(redis.Admin, cache, clock);

        OrphanReport report = await admin.RemoveOrphansAsync("ops", "test", new OrphanCleanupOptions { BatchSize = 10, KeysPerSecond = null });

        Assert.Equal(50, report.Removed);
        Assert.Empty(clock.Delays);
    }

    [Fact]
    public async Task Entry_written_under_the_current_versions_after_the_scan_saw_it_is_kept()
    {
        using SmartCache cache = await FiftyOrphansAsync(redis);
        RedisConnection connection = TestCache.Connection(redis.Admin, new SmartCacheOptions());
        var rewritten = new List<CacheKey>();

        // Between the scan (which saw these keys as candidates) and their check, the application writes them again under
        // the current versions: the check, atomic with the versions, must see them as current.
        async Task RewriteFirstBatchAsync(IReadOnlyList<OrphanCandidate> batch)
        {
            if (rewritten.Count > 0)
            {
                return;
            }

            foreach (OrphanCandidate candidate in batch)
            {
                Assert.Equal(string.Empty, candidate.Namespace);
                CacheKey key = CacheKey.Create(candidate.EntryKey[(candidate.EntryKey.LastIndexOf(':') + 1)..]);
                await cache.SetAsync(key, -1, OrphanSeed.Entry(0));
                rewritten.Add(key);
            }
        }

        var strategy = new OrphanCleanupStrategy(
            new RedisKeyspace(connection),
            new HookedOrphanStore(new RedisOrphanStore(connection), RewriteFirstBatchAsync),
            TimeProvider.System,
            CacheMetrics.Shared);

        OrphanReport report = await strategy.RemoveAsync(cache.Layout, new OrphanCleanupOptions { BatchSize = 10, KeysPerSecond = null }, null, CancellationToken.None);

        Assert.Equal(10, rewritten.Count);
        Assert.Equal(40, report.Removed);
        Assert.Equal(40, report.OrphansFound);
        foreach (CacheKey key in rewritten)
        {
            Assert.Equal(-1, (await cache.GetAsync<int>(key)).Value);
        }
    }

    /// <summary>Runs <c>before</c> ahead of each check: what the application did between the scan and the check.</summary>
    private sealed class HookedOrphanStore(IOrphanStore inner, Func<IReadOnlyList<OrphanCandidate>, Task> before) : IOrphanStore
    {
        public async Task<EntryCheck[]> CheckAsync(IReadOnlyList<OrphanCandidate> entries, TimeSpan? removeAbove, CancellationToken cancellationToken)
        {
            await before(entries);
            return await inner.CheckAsync(entries, removeAbove, cancellationToken);
        }
    }
}
