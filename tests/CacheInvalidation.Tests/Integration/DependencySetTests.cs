using CacheInvalidation.Keys;
using CacheInvalidation.Strategies;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class DependencySetTests(RedisFixture redis)
{
    private static CacheEntryOptions DependsOn(params string[] sources) => new() { DependsOn = sources };

    [Fact]
    public async Task Invalidating_a_source_removes_exactly_its_dependents()
    {
        using SmartCache cache = TestCache.Create(redis);
        int loads = 0;
        async Task<string> View(int product, int seller) =>
            await cache.GetOrSetAsync(CacheKey.Entity("product-view", product), _ => { loads++; return ValueTask.FromResult($"view {product}"); },
                DependsOn($"product:{product}", $"seller:{seller}", $"stock:{product}"));
        await cache.SetAsync(CacheKey.Create("unrelated"), "stays");
        await View(1, 7);
        await View(2, 7);
        await View(3, 8);

        long stockRemoved = await cache.InvalidateSourceAsync("stock:1");
        Assert.Equal(1, stockRemoved);
        await View(1, 7); // reloaded
        await View(2, 7); // still cached
        await View(3, 8);
        Assert.Equal(4, loads);

        long sellerRemoved = await cache.InvalidateSourceAsync("seller:7");
        Assert.Equal(2, sellerRemoved);
        await View(1, 7);
        await View(2, 7);
        await View(3, 8); // seller 8 untouched
        Assert.Equal(6, loads);
        Assert.Equal("stays", (await cache.GetAsync<string>(CacheKey.Create("unrelated"))).Value);
    }

    [Fact]
    public async Task Index_lives_at_least_as_long_as_its_longest_dependent()
    {
        using SmartCache cache = TestCache.Create(redis, TestCache.WithoutStaleBudget);
        await cache.SetAsync(CacheKey.Create("short"), 1, new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(100), Jitter = TimeSpan.Zero, DependsOn = ["product:1"] });
        await cache.SetAsync(CacheKey.Create("long"), 1, new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(1000), Jitter = TimeSpan.Zero, DependsOn = ["product:1"] });
        await cache.SetAsync(CacheKey.Create("shorter"), 1, new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(10), Jitter = TimeSpan.Zero, DependsOn = ["product:1"] });

        IDatabase db = redis.Admin.GetDatabase();
        string index = cache.Layout.Source("product:1").Index;
        TimeSpan? indexTtl = await db.KeyTimeToLiveAsync(index);

        Assert.Equal(3, await db.HashLengthAsync(index));
        Assert.NotNull(indexTtl);
        Assert.InRange(indexTtl.Value.TotalSeconds, 1000, 1000 + 10 + 1); // longest entry plus the lease time, never shortened
    }

    [Fact]
    public async Task Source_invalidated_while_a_dependent_is_computed_refuses_its_write()
    {
        using SmartCache cache = TestCache.Create(redis);
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Entity("product-view", 5);

        string loaded = await cache.GetOrSetAsync(key, async ct =>
        {
            await cache.InvalidateSourceAsync("product:5", ct); // the source changes mid-computation
            return "computed from the old product";
        }, DependsOn("product:5"));

        Assert.Equal("computed from the old product", loaded);
        Assert.False((await cache.GetAsync<string>(key)).Found);
        Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
    }

    [Fact]
    public async Task Ten_thousand_dependents_are_removed_in_bounded_batches()
    {
        using SmartCache cache = TestCache.Create(redis);
        const int count = 10_000;
        foreach (int[] chunk in Enumerable.Range(0, count).Chunk(500))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("row", i), i, DependsOn("table:big")).AsTask()));
        }

        await cache.SetAsync(CacheKey.Entity("row", -1), -1, DependsOn("table:other"));
        Assert.Equal(count + 1, (await TestCache.EntryKeysAsync(redis, cache)).Count);

        await redis.ResetStatsAsync();
        long removed = await cache.InvalidateSourceAsync("table:big");
        long batches = await redis.CommandCallsAsync("evalsha");

        Assert.Equal(count, removed);
        // One snapshot, then per 250 dependents one drain step and one deletion script (each short), and a last step.
        Assert.Equal(2 + (2 * count / DependencySetStrategy.Batch), batches);
        Assert.Single(await TestCache.EntryKeysAsync(redis, cache));
        Assert.DoesNotContain(await TestCache.KeysAsync(redis, cache), k => k.Contains("table:big", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Expired_dependents_are_pruned_from_the_index()
    {
        using SmartCache cache = TestCache.Create(redis, TestCache.WithoutStaleBudget);
        var shortLived = new CacheEntryOptions { Ttl = TimeSpan.FromMilliseconds(300), Jitter = TimeSpan.Zero, DependsOn = ["feed:1"] };
        for (int i = 0; i < 200; i++)
        {
            await cache.SetAsync(CacheKey.Entity("item", i), i, shortLived);
        }

        await cache.SetAsync(CacheKey.Entity("item", 999), 999, new CacheEntryOptions { Ttl = TimeSpan.FromMinutes(10), DependsOn = ["feed:1"] });
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await TestCache.EntryKeysAsync(redis, cache)).Count > 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the short-lived entries did not expire");
            await Task.Delay(50);
        }

        // Every 32nd registration prunes a page in the background: on a loaded machine, where the 200 writes
        // outlast the first entries' 300 ms, some dead members may already be gone. The rest are pruned here.
        IDatabase db = redis.Admin.GetDatabase();
        long indexed = await db.HashLengthAsync(cache.Layout.Source("feed:1").Index);
        long pruned = await cache.PruneSourceIndexAsync("feed:1");

        Assert.Equal(indexed - 1, pruned);
        Assert.Equal(1, await db.HashLengthAsync(cache.Layout.Source("feed:1").Index));
        Assert.Equal(1, await cache.InvalidateSourceAsync("feed:1")); // the live dependent is still found
    }

    [Fact]
    public async Task Bad_sources_and_dependents_without_expiry_are_rejected()
    {
        using SmartCache cache = TestCache.Create(redis);

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.InvalidateSourceAsync("product:*"));
        Assert.Equal("source", ex.ParamName);
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.InvalidateSourceAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.SetAsync(CacheKey.Create("k"), 1, DependsOn("a b")));
        var forever = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await cache.SetAsync(CacheKey.Create("k"), 1, new CacheEntryOptions { NeverExpire = true, DependsOn = ["product:1"] }));
        Assert.Equal("options", forever.ParamName);
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
    }

    [Fact]
    public async Task Several_sources_at_once()
    {
        using SmartCache cache = TestCache.Create(redis);
        await cache.SetAsync(CacheKey.Create("a"), 1, DependsOn("x:1"));
        await cache.SetAsync(CacheKey.Create("b"), 1, DependsOn("x:2"));
        await cache.SetAsync(CacheKey.Create("c"), 1, DependsOn("x:3"));

        long removed = await cache.InvalidateSourcesAsync(["x:1", "x:2", "x:1"]);

        Assert.Equal(2, removed);
        Assert.True((await cache.GetAsync<int>(CacheKey.Create("c"))).Found);
    }
}
