using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class NamespaceScanTests(RedisFixture redis)
{
    private static async Task FillAsync(SmartCache cache, string @namespace, int count)
    {
        foreach (int[] chunk in Enumerable.Range(0, count).Chunk(1000))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity(@namespace, i), i).AsTask()));
        }
    }

    private static async Task<int> CountAsync(RedisFixture redis, SmartCache cache, string @namespace) =>
        (await TestCache.EntryKeysAsync(redis, cache)).Count(k => k.Contains($"}}:{@namespace}:", StringComparison.Ordinal));

    [Fact]
    public async Task Hundred_thousand_keys_rate_limited_cancelled_halfway_and_resumed()
    {
        using SmartCache cache = TestCache.Create(redis);
        await FillAsync(cache, "bulk", 100_000);
        await FillAsync(cache, "bulkier", 100); // a sibling whose name starts the same
        await FillAsync(cache, "other", 100);
        var options = new NamespaceInvalidationOptions { BatchSize = 1000, MaxKeysPerSecond = 100_000 };
        using var halfway = new CancellationTokenSource();
        var progress = new SynchronousProgress(p =>
        {
            if (p.Deleted >= 50_000)
            {
                halfway.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cache.InvalidateNamespaceAsync("bulk", options, progress, halfway.Token));
        int left = await CountAsync(redis, cache, "bulk");
        NamespaceInvalidationReport resumed = await cache.InvalidateNamespaceAsync("bulk", options);

        Assert.InRange(left, 1, 50_000); // stopped part-way…
        Assert.Equal(left, resumed.Deleted); // …and the second run removed exactly the rest
        Assert.Equal(0, await CountAsync(redis, cache, "bulk"));
        Assert.Equal(100, await CountAsync(redis, cache, "bulkier"));
        Assert.Equal(100, await CountAsync(redis, cache, "other"));
        Assert.True(progress.Reports >= 50, "progress is reported per batch");
        // The limiter holds the pace: deleting N keys at R keys/s cannot take less than N / R.
        Assert.True(resumed.Elapsed >= TimeSpan.FromSeconds(resumed.Deleted / 100_000.0) * 0.95, $"{resumed.Elapsed} for {resumed.Deleted} keys");
    }

    [Fact]
    public async Task Namespace_invalidation_includes_child_namespaces_and_leases()
    {
        using SmartCache cache = TestCache.Create(redis);
        await cache.SetAsync(CacheKey.Create("docs", "index"), 1);
        await cache.SetAsync(CacheKey.Create("docs:technical", "install"), 1);
        await cache.SetAsync(CacheKey.Create("faqs", "billing"), 1);

        NamespaceInvalidationReport report = await cache.InvalidateNamespaceAsync("docs");

        Assert.Equal(2, report.Deleted);
        Assert.False((await cache.GetAsync<int>(CacheKey.Create("docs:technical", "install"))).Found);
        Assert.True((await cache.GetAsync<int>(CacheKey.Create("faqs", "billing"))).Found);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("doc?")]
    [InlineData("docs*")]
    [InlineData("[a-z]*")]
    [InlineData("docs:*")]
    [InlineData("")]
    public async Task Wildcard_namespaces_are_rejected_and_remove_nothing(string @namespace)
    {
        using SmartCache cache = TestCache.Create(redis);
        await cache.SetAsync(CacheKey.Create("docs", "index"), 1);
        await cache.SetAsync(CacheKey.Create("k"), 1);

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.InvalidateNamespaceAsync(@namespace));
        var bump = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.InvalidateNamespaceVersionAsync(@namespace));

        Assert.Equal("namespaceName", ex.ParamName);
        Assert.Equal("namespaceName", bump.ParamName);
        Assert.Equal(2, (await TestCache.EntryKeysAsync(redis, cache)).Count);
    }

    [Fact]
    public async Task Namespace_version_bump_is_the_O1_alternative()
    {
        using SmartCache cache = TestCache.Create(redis);
        await FillAsync(cache, "catalog", 1000);

        await redis.ResetStatsAsync();
        await cache.InvalidateNamespaceVersionAsync("catalog");
        long commands = await redis.CommandCallsAsync("evalsha");

        Assert.Equal(cache.Layout.Shards, commands); // one per shard, whatever the namespace's size
        Assert.False((await cache.GetAsync<int>(CacheKey.Entity("catalog", 5))).Found);
    }
}
