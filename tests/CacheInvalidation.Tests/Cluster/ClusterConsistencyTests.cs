using CacheInvalidation.Tests.Consistency;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CacheInvalidation.Tests.Cluster;

/// <summary>The consistency checker for every invalidation kind on the local 3+3 Redis Cluster, two nodes (two connections).</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterConsistencyTests(RedisClusterFixture cluster, ITestOutputHelper output)
{
    public static TheoryData<InvalidationKind> Kinds => ConsistencyTests.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Naive_cache_aside_is_caught_on_the_cluster(InvalidationKind kind)
    {
        await using ConnectionMultiplexer first = await ConnectAsync();
        await using ConnectionMultiplexer second = await ConnectAsync();
        ConsistencyReport report = await ConsistencyTests.RunNaiveAsync(first, second, kind);
        output.WriteLine(report.Row("naive cache-aside", kind.ToString(), "cluster"));

        Assert.True(report.StaleAfterAfter > 0, $"the checker should catch the naive cache's stale sets: {report}");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task SmartCache_leaves_no_stale_entry_and_no_read_out_of_budget_on_the_cluster(InvalidationKind kind)
    {
        await using ConnectionMultiplexer first = await ConnectAsync();
        await using ConnectionMultiplexer second = await ConnectAsync();
        using var metrics = new MetricRecorder();
        ConsistencyReport report = await ConsistencyTests.RunSmartAsync(first, second, kind);
        output.WriteLine(report.Row("SmartCache", kind.ToString(), "cluster") + $" refused writes: {metrics["cacheinvalidation.writes/refused"]}");

        Assert.True(report.Reads >= ConsistencyTests.Reads);
        Assert.Equal(0, report.StaleEntries);
        Assert.Equal(0, report.OutOfBudgetStaleReads);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Local_tier_keeps_reads_inside_the_budget_when_messages_are_lost_and_subscribers_killed_on_the_cluster(InvalidationKind kind)
    {
        await using ConnectionMultiplexer first = await ConnectAsync();
        await using ConnectionMultiplexer second = await ConnectAsync();
        using var metrics = new MetricRecorder();
        (ConsistencyReport report, long dropped) = await ConsistencyTests.RunSmartWithLocalFaultsAsync(first, second, cluster.Admin, kind);
        output.WriteLine(report.Row("SmartCache + local, faults", kind.ToString(), "cluster") + ConsistencyTests.LocalFigures(metrics, dropped));

        ConsistencyTests.AssertLocalFaultRun(report, metrics, dropped);
    }

    private Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);
}
