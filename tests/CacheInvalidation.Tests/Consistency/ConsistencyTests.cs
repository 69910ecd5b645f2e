using CacheInvalidation.Policy;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>The no-stale-set claim, checked on a recorded history against a real Redis, with two application nodes.</summary>
[Collection(RedisCollection.Name)]
public sealed class ConsistencyTests(RedisFixture redis, ITestOutputHelper output)
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Naive_cache_aside_is_caught_leaving_stale_entries()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "naive" + Guid.NewGuid().ToString("N")[..8];
        ICacheUnderTest[] nodes = [new NaiveCacheAside(redis.Admin.GetDatabase(), prefix), new NaiveCacheAside(second.GetDatabase(), prefix)];

        ConsistencyReport report = await new ConsistencyChecker(entities: 20, readers: 16, writers: 4, reads: 20_000, seed: 42).RunAsync(nodes, Budget);
        output.WriteLine($"naive cache-aside: {report}");

        Assert.True(report.StaleEntries > 0, $"the checker should catch the naive cache's stale sets: {report}");
    }

    [Fact]
    public async Task SmartCache_leaves_no_stale_entry_and_no_read_out_of_budget_over_100k_operations()
    {
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "smart" + Guid.NewGuid().ToString("N")[..8];
        void Configure(SmartCacheOptions o)
        {
            o.KeyPrefix = prefix;
            o.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(10)).WithStaleBudget(Budget);
        }

        using SmartCache nodeA = TestCache.Create(redis, Configure);
        using SmartCache nodeB = TestCache.Create(redis, Configure, second);
        using var metrics = new MetricRecorder();

        ConsistencyReport report = await new ConsistencyChecker(entities: 20, readers: 16, writers: 4, reads: 100_000, seed: 42)
            .RunAsync([new SmartCacheUnderTest(nodeA), new SmartCacheUnderTest(nodeB)], Budget);
        output.WriteLine($"SmartCache: {report}; writes refused: {metrics["cache.writes/refused"]}, written: {metrics["cache.writes/written"]}");

        Assert.True(report.Reads >= 100_000);
        Assert.Equal(0, report.StaleEntries);
        Assert.Equal(0, report.OutOfBudgetStaleReads);
        Assert.True(metrics["cache.writes/refused"] >= 20, "every forced race must end in a refused write");
    }
}
