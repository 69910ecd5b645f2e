using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Orphans;

/// <summary>Orphan count and removal on a real 3-primary Redis Cluster: SCAN on every primary, one script per hash slot.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterOrphanTests(RedisClusterFixture cluster)
{
    [Fact]
    public async Task Count_and_removal_work_across_every_primary()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);
        using SmartCache cache = TestCache.Create(connection, OrphanSeed.Options);
        for (int i = 0; i < 150; i++)
        {
            await cache.SetAsync(CacheKey.Entity("items", i), i, OrphanSeed.Entry(i));
        }

        for (int i = 0; i < 60; i++)
        {
            await cache.SetAsync(CacheKey.Entity("docs:technical", i), i, OrphanSeed.Entry(i));
        }

        await cache.InvalidateNamespaceVersionAsync("items");
        for (int i = 0; i < 50; i++)
        {
            await cache.SetAsync(CacheKey.Entity("items", i), -i, OrphanSeed.Entry(i));
        }

        string[] orphans = [.. Enumerable.Range(50, 100).Select(i => OrphanSeed.KeyOf(cache, CacheKey.Entity("items", i)))];
        Assert.Equal(3, orphans.Select(k => connection.GetServer((RedisKey)k).EndPoint.ToString()).Distinct().Count());
        SmartCacheAdministration admin = OrphanSeed.Admin(connection, cache);

        OrphanReport count = await admin.CountOrphansAsync(sampleSize: 1_000);

        Assert.Equal(210, count.Entries);
        Assert.Equal(100, count.OrphansFound);
        Assert.Equal(100, count.EstimatedOrphans);
        NamespaceOrphans items = Assert.Single(count.Namespaces);
        Assert.Equal("items", items.Namespace);

        HashSet<string> before = [.. await TestCache.KeysAsync(connection, cache)];
        OrphanReport removal = await admin.RemoveOrphansAsync("ops", "cluster test", new OrphanCleanupOptions { BatchSize = 20, KeysPerSecond = null });
        HashSet<string> after = [.. await TestCache.KeysAsync(connection, cache)];

        Assert.Equal(100, removal.Removed);
        Assert.Equal(before.Except(orphans).Order(StringComparer.Ordinal), after.Order(StringComparer.Ordinal));
        Assert.Equal(0, (await admin.CountOrphansAsync()).OrphansFound);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(-i, (await cache.GetAsync<int>(CacheKey.Entity("items", i))).Value);
        }
    }
}
