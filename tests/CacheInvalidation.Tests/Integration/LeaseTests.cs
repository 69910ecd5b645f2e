using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>The stale-set race, staged step by step: a value loaded before an invalidation is never cached after it.</summary>
[Collection(RedisCollection.Name)]
public sealed class LeaseTests(RedisFixture redis)
{
    private static async Task<(string Returned, MetricRecorder Metrics)> LoadWhileAsync(SmartCache reader, CacheKey key, Func<Task> meanwhile)
    {
        var metrics = new MetricRecorder();
        string returned = await reader.GetOrSetAsync(key, async _ =>
        {
            await meanwhile(); // the source changes and the change is published while this value is in flight
            return "loaded before the change";
        });
        return (returned, metrics);
    }

    [Fact]
    public async Task Key_invalidated_from_another_node_during_the_load_is_not_written()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache reader = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        using SmartCache writer = TestCache.Create(redis, o => o.KeyPrefix = prefix, second);
        CacheKey key = CacheKey.Entity("product", 1);

        (string returned, MetricRecorder metrics) = await LoadWhileAsync(reader, key, async () => await writer.InvalidateKeyAsync(key));
        using (metrics)
        {
            Assert.Equal("loaded before the change", returned); // its caller still gets it…
            Assert.False((await reader.GetAsync<string>(key)).Found); // …but it is not cached
            Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
        }
    }

    [Fact]
    public async Task Direct_set_during_the_load_wins_over_the_loaded_value()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache reader = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        using SmartCache writer = TestCache.Create(redis, o => o.KeyPrefix = prefix, second);
        CacheKey key = CacheKey.Entity("product", 2);

        (_, MetricRecorder metrics) = await LoadWhileAsync(reader, key, async () => await writer.SetAsync(key, "written through"));
        using (metrics)
        {
            Assert.Equal("written through", (await reader.GetAsync<string>(key)).Value);
            Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
        }
    }

    [Fact]
    public async Task Local_invalidation_detaches_the_in_flight_load()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("k");
        var loading = new TaskCompletionSource();
        var finish = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<string> before = cache.GetOrSetAsync(key, _ => { loading.SetResult(); return new ValueTask<string>(finish.Task); }).AsTask();
        await loading.Task;

        await cache.InvalidateKeyAsync(key);
        Task<string> after = cache.GetOrSetAsync(key, _ => ValueTask.FromResult("after")).AsTask();
        string afterValue = await after; // did not join the load that began before the invalidation
        finish.SetResult("before");

        Assert.Equal("after", afterValue);
        Assert.Equal("before", await before);
        Assert.Equal("after", (await cache.GetAsync<string>(key)).Value);
    }

    [Fact]
    public async Task Version_bump_during_the_load_refuses_the_write_and_frees_the_lease()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("k");

        (string returned, MetricRecorder metrics) = await LoadWhileAsync(cache, key, async () => await cache.InvalidateAllAsync());
        using (metrics)
        {
            int calls = 0;
            string next = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult("fresh"); }).AsTask().WaitAsync(TimeSpan.FromSeconds(5));

            Assert.Equal("loaded before the change", returned);
            Assert.Equal("fresh", next); // no wait for a lease left behind
            Assert.Equal(1, calls);
            Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
            Assert.DoesNotContain(await TestCache.KeysAsync(redis, cache), k => k.EndsWith("#l", StringComparison.Ordinal));
        }
    }
}
