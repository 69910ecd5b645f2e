using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Cluster;

/// <summary>The source-index races on the cluster, where an index and its dependents live in different slots and nodes.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterRaceTests(RedisClusterFixture cluster)
{
    private static CacheEntryOptions DependsOn(params string[] sources) => new() { DependsOn = sources };

    [Fact]
    public async Task Source_invalidation_removes_every_dependent_written_before_it_however_busy_on_the_cluster()
    {
        await using ConnectionMultiplexer first = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache cache = TestCache.Create(first, o => o.KeyPrefix = prefix);
        using SmartCache busy = TestCache.Create(second, o => o.KeyPrefix = prefix);
        const int Before = 1_000;
        (long removed, int stillReadable, int added) = await BusySourceDrill.RunAsync(cache, busy, Before, workers: 4, startAfter: 500);
        Assert.Equal(0, stillReadable);
        Assert.True(removed >= Before, $"removed {removed}");

        // Every dependent written meanwhile is still listed: the next invalidation removes every one of them.
        await cache.InvalidateSourceAsync("table:hot");
        bool[] newer = await Task.WhenAll(Enumerable.Range(1, added).Select(async n => (await cache.GetAsync<int>(CacheKey.Entity("new-row", n))).Found));
        Assert.Equal(0, newer.Count(r => r));
    }

    [Fact]
    public async Task Direct_set_whose_source_is_invalidated_before_its_write_is_refused_on_the_cluster()
    {
        await using ConnectionMultiplexer first = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        var hooks = new StoreHooks();
        var registered = new TaskCompletionSource();
        TaskCompletionSource writeGate = hooks.Hold("Write", registered);
        using SmartCache setter = TestCache.Create(first, hooks, o => o.KeyPrefix = prefix);
        using SmartCache invalidator = TestCache.Create(second, o => o.KeyPrefix = prefix);
        CacheKey key = CacheKey.Entity("product-view", 1);

        Task set = setter.SetAsync(key, "computed before the change", DependsOn("product:1")).AsTask();
        await registered.Task;
        await invalidator.InvalidateSourceAsync("product:1");
        writeGate.SetResult();
        await set;

        Assert.False((await invalidator.GetAsync<string>(key)).Found);
    }
}
