using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Cluster;

/// <summary>A cluster of its own, since these tests pause and kill its nodes.</summary>
public sealed class ResilienceCluster : RedisClusterFixture;

public sealed class ClusterResilienceTests(ResilienceCluster cluster) : IClassFixture<ResilienceCluster>
{
    [Fact]
    public async Task Wait_after_a_bump_blocks_no_other_command_and_a_lagging_replica_is_reported()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);
        // Patient timeouts: with the 50 ms soft read timeout, a read queued behind the WAIT would return a miss in time anyway.
        using SmartCache cache = TestCache.Create(connection);
        using var metrics = new MetricRecorder();
        // A key whose primary has a live replica (another test of this class may have killed a primary).
        ClusterNode PrimaryOf(CacheKey k)
        {
            IServer server = connection.GetServer((RedisKey)cache.Layout.GlobalVersionKeys()[cache.Layout.ShardOf(k)]);
            return server.ClusterConfiguration![server.EndPoint]!;
        }

        CacheKey key = Enumerable.Range(0, 100).Select(i => CacheKey.Create($"k{i}")).First(k => PrimaryOf(k).Children.Any(c => c.IsConnected));
        await cache.SetAsync(key, "v");
        ClusterNode primary = PrimaryOf(key);
        RedisServerProcess replica = cluster.Nodes.First(n => primary.Children.Any(c => c.IsConnected && c.EndPoint!.ToString()!.EndsWith(":" + n.Port, StringComparison.Ordinal)));
        await cache.InvalidateAllAsync(); // the bump connection is open

        replica.Pause(); // its primary's WAIT now waits the whole timeout
        try
        {
            // A read queued behind the WAIT would always finish after the bump; one that did not can still lose the race to
            // a stalled machine once in a while (the WAIT lasts 200 ms), so it gets a few tries.
            bool readFirst = false;
            for (int attempt = 0; attempt < 5 && !readFirst; attempt++)
            {
                Task bump = cache.InvalidateAllAsync().AsTask();
                Task<CacheResult<string>> read = cache.GetAsync<string>(key).AsTask(); // the same primary, on the shared connection
                readFirst = await Task.WhenAny(read, bump) == read;
                Assert.False((await read).Found);
                await bump;
            }

            Assert.True(readFirst, "every read finished after the bump's WAIT: reads queue behind it");
        }
        finally
        {
            replica.Resume();
        }

        await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30), replicasInSync: true);
        Assert.True(metrics["cacheinvalidation.replication.short"] >= 1);
    }

    [Fact]
    public async Task Primary_killed_mid_scan_then_a_retry_after_the_failover_leaves_nothing_targeted_readable()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(
            cluster.ConnectionString + ",abortConnect=false,connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000");
        using SmartCache cache = TestCache.Create(connection, TestCache.ProductionTimeouts);
        CacheKey[] docs = Enumerable.Range(0, 1_500).Select(i => CacheKey.Entity("docs", i)).ToArray();
        await Task.WhenAll(docs.Select(k => cache.SetAsync(k, "old").AsTask()));
        await cache.SetAsync(CacheKey.Create("faq", "kept"), "kept");

        IServer anyPrimary = connection.GetEndPoints().Select(e => connection.GetServer(e)).First(s => s.IsConnected && !s.IsReplica);
        string owner = anyPrimary.ClusterConfiguration!.GetBySlot(connection.HashSlot(cache.Layout.GlobalVersionKeys()[^1]))!.EndPoint!.ToString()!;
        RedisServerProcess victim = cluster.Nodes.Single(n => owner.EndsWith(":" + n.Port, StringComparison.Ordinal));
        var progress = new SynchronousProgress(_ => victim.Dispose()); // killed as soon as the scan has done one batch

        var first = await Assert.ThrowsAsync<CacheStoreException>(async () =>
            await cache.InvalidateNamespaceAsync("docs", new NamespaceInvalidationOptions { BatchSize = 50 }, progress));
        Assert.Contains("not covered", first.Message, StringComparison.Ordinal);

        await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await cache.InvalidateNamespaceAsync("docs");
                break;
            }
            catch (CacheStoreException ex)
            {
                Assert.True(DateTime.UtcNow < deadline, "the scan did not finish after the failover: " + ex.Message);
                await Task.Delay(200);
            }
        }

        bool[] readable = await Task.WhenAll(docs.Select(async k => (await cache.GetAsync<string>(k)).Found));
        Assert.Equal(0, readable.Count(r => r));
        Assert.DoesNotContain(await TestCache.KeysAsync(connection, cache), k => TestCache.IsEntryKey(k) && k.Contains(":docs:", StringComparison.Ordinal));
    }
}
