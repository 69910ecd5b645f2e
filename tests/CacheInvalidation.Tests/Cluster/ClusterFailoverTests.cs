using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CacheInvalidation.Tests.Cluster;

/// <summary>A cluster of its own, since this test kills one of its primaries.</summary>
public sealed class FailoverCluster : RedisClusterFixture;

public sealed class ClusterFailoverTests(FailoverCluster cluster, ITestOutputHelper output) : IClassFixture<FailoverCluster>
{
    [Fact]
    public async Task Invalidation_made_during_a_primary_failover_is_not_lost()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(
            cluster.ConnectionString + ",abortConnect=false,connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000");
        using SmartCache cache = TestCache.Create(connection, TestCache.ProductionTimeouts);
        CacheKey[] keys = Enumerable.Range(0, 100).Select(i => CacheKey.Entity("item", i)).ToArray();
        foreach (CacheKey key in keys)
        {
            await cache.SetAsync(key, "before the failover");
        }

        // Kill the primary serving the first shard's global version.
        int slot = connection.HashSlot(cache.Layout.GlobalVersionKeys()[0]);
        IServer anyPrimary = connection.GetEndPoints().Select(e => connection.GetServer(e)).First(s => s.IsConnected && !s.IsReplica);
        string owner = anyPrimary.ClusterConfiguration!.GetBySlot(slot)!.EndPoint!.ToString()!;
        RedisServerProcess victim = cluster.Nodes.Single(n => owner.EndsWith(":" + n.Port, StringComparison.Ordinal));
        victim.Dispose();

        // The caller is told when an invalidation could not be applied, and retries until it is.
        int failures = 0;
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await cache.InvalidateAllAsync();
                break;
            }
            catch (CacheStoreException ex)
            {
                failures++;
                Assert.True(DateTime.UtcNow < deadline, "the cluster did not fail over in time: " + ex.Message);
                await Task.Delay(200);
            }
        }

        output.WriteLine($"invalidation retried {failures} times during the failover");
        await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));

        // The attempts that failed were journaled and are replayed too: let them land before the reader writes.
        while (cache.PendingInvalidations > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the journal was not replayed in time");
            await Task.Delay(50);
        }

        // After the cluster is healthy, no entry invalidated during the failover is readable.
        await using ConnectionMultiplexer fresh = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString + ",abortConnect=false");
        using SmartCache reader = TestCache.Create(fresh, o => o.KeyPrefix = cache.Layout.Prefix);
        using var metrics = new MetricRecorder();
        int loads = 0;
        foreach (CacheKey key in keys)
        {
            string value = await reader.GetOrSetAsync(key, _ => { loads++; return ValueTask.FromResult("after the failover"); });
            Assert.Equal("after the failover", value);
        }

        Assert.Equal(100, loads);
        Assert.Equal(0, metrics["cacheinvalidation.requests/error"]); // every read reached Redis: these are real misses
        Assert.Equal("after the failover", (await reader.GetAsync<string>(keys[0])).Value);
    }
}
