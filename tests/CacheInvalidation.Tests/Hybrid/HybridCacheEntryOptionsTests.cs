using CacheInvalidation.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Hybrid;

namespace CacheInvalidation.Tests.Hybrid;

/// <summary>HybridCacheEntryOptions, their flags, tags and arguments, as far as they have a meaning over SmartCache.</summary>
[Collection(RedisCollection.Name)]
public sealed class HybridCacheEntryOptionsTests(RedisFixture redis)
{
    private static readonly HybridCacheEntryOptions CacheOnly = new() { Flags = HybridCacheEntryFlags.DisableUnderlyingData };
    private static readonly HybridCacheEntryOptions Uncached = new() { Flags = HybridCacheEntryFlags.DisableDistributedCache };
    private static readonly HybridCacheEntryOptions ReadOnly = new() { Flags = HybridCacheEntryFlags.DisableDistributedCacheWrite };

    [Fact]
    public async Task DisableUnderlyingData_returns_default_on_a_miss_without_calling_the_factory()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();

        Assert.Equal(0, await calls.GetAsync(nodes.A, "k", 1, options: CacheOnly));
        await nodes.A.SetAsync("k", 7);
        Assert.Equal(7, await calls.GetAsync(nodes.B, "k", 1, options: CacheOnly));

        Assert.Equal(0, calls.Total);
    }

    [Fact]
    public async Task Disabled_distributed_read_and_write_call_the_factory_every_time_and_cache_nothing()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await nodes.A.SetAsync("cached", 5);

        for (int i = 1; i <= 3; i++)
        {
            Assert.Equal(i, await calls.GetAsync(nodes.A, "k", i, options: Uncached));
            Assert.Equal(10 + i, await calls.GetAsync(nodes.A, "cached", 10 + i, options: Uncached));
        }

        Assert.Equal(3, calls["k"]);
        Assert.Equal(3, calls["cached"]);
        Assert.Equal(0, await calls.GetAsync(nodes.B, "k", 0, options: CacheOnly)); // nothing was written
        Assert.Equal(5, await calls.GetAsync(nodes.B, "cached", 0, options: CacheOnly)); // nor overwritten
    }

    [Fact]
    public async Task Disabled_distributed_write_reads_the_cache_but_writes_nothing()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await nodes.A.SetAsync("cached", 5);

        Assert.Equal(5, await calls.GetAsync(nodes.B, "cached", -1, options: ReadOnly));
        Assert.Equal(1, await calls.GetAsync(nodes.B, "k", 1, options: ReadOnly));
        Assert.Equal(2, await calls.GetAsync(nodes.B, "k", 2, options: ReadOnly));

        Assert.Equal(0, calls["cached"]);
        Assert.Equal(2, calls["k"]);
        Assert.Equal(0, await calls.GetAsync(nodes.A, "k", 0, options: CacheOnly));
    }

    [Fact]
    public async Task SetAsync_that_may_not_write_removes_the_value_it_replaces()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();
        await nodes.A.SetAsync("k", 1);

        await nodes.A.SetAsync("k", 2, ReadOnly);

        Assert.Equal(0, await calls.GetAsync(nodes.B, "k", 0, options: CacheOnly));
        Assert.Equal(3, await calls.GetAsync(nodes.B, "k", 3));
        Assert.Equal(1, calls["k"]);
    }

    [Fact]
    public async Task Expiration_is_the_entry_ttl_and_default_entry_options_apply_to_calls_without_options()
    {
        await using var nodes = HybridNodes.Start(redis, o => o.DefaultEntryOptions = new() { Expiration = TimeSpan.FromHours(3) });
        await nodes.A.SetAsync("explicit", 1, new HybridCacheEntryOptions { Expiration = TimeSpan.FromHours(1) });
        await nodes.A.SetAsync("default", 1);

        TimeSpan explicitTtl = await TtlAsync(nodes, "explicit");
        TimeSpan defaultTtl = await TtlAsync(nodes, "default");

        // Jitter only shortens (by at most 10 % by default); the key outlives the TTL by the stale budget (10 s).
        Assert.InRange(explicitTtl, TimeSpan.FromMinutes(53), TimeSpan.FromMinutes(61));
        Assert.InRange(defaultTtl, TimeSpan.FromMinutes(161), TimeSpan.FromMinutes(181));
    }

    [Fact]
    public async Task A_tag_that_is_empty_or_the_wildcard_is_rejected_naming_tags()
    {
        await using var nodes = HybridNodes.Start(redis);
        var calls = new FactoryCalls();

        var star = await Assert.ThrowsAsync<ArgumentException>(async () => await calls.GetAsync(nodes.A, "k", 1, tags: ["ok", "*"]));
        var empty = await Assert.ThrowsAsync<ArgumentException>(async () => await nodes.A.SetAsync("k", 1, tags: [""]));

        Assert.Equal("tags", star.ParamName);
        Assert.Equal("tags", empty.ParamName);
        Assert.Equal(0, calls.Total);
    }

    [Fact]
    public async Task A_null_or_empty_key_or_tag_is_rejected_naming_the_argument()
    {
        await using var nodes = HybridNodes.Start(redis);
        HybridCache cache = nodes.A;

        Assert.Equal("key", (await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.GetOrCreateAsync(null!, _ => ValueTask.FromResult(1)))).ParamName);
        Assert.Equal("key", (await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.GetOrCreateAsync(string.Empty, _ => ValueTask.FromResult(1)))).ParamName);
        Assert.Equal("key", (await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.SetAsync(string.Empty, 1))).ParamName);
        Assert.Equal("key", (await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.RemoveAsync(string.Empty))).ParamName);
        Assert.Equal("tag", (await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.RemoveByTagAsync(string.Empty))).ParamName);
        Assert.Equal("tag", (await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.RemoveByTagAsync((string)null!))).ParamName);
    }

    private async Task<TimeSpan> TtlAsync(HybridNodes nodes, string key)
    {
        return await redis.Admin.GetDatabase().KeyTimeToLiveAsync(nodes.EntryKey(key)) ?? TimeSpan.Zero;
    }
}
