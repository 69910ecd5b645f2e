using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using CacheInvalidation.Tests.Consistency;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CacheInvalidation.Tests.Cluster;

/// <summary>
/// The same guarantees on a real 3-primary, 3-replica Redis Cluster. The single-node suite covers each feature in
/// depth; these tests run what a cluster changes: routing, hash slots, fan-out across nodes, scans on every primary.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterTests(RedisClusterFixture cluster)
{
    private async Task<ConnectionMultiplexer> ConnectAsync() => await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString);

    [Fact]
    public async Task Hit_is_one_round_trip_on_the_cluster()
    {
        await using ConnectionMultiplexer connection = await ConnectAsync();

        // The Redis hit is measured: the local tier (which would serve it from memory) is off.
        using SmartCache cache = TestCache.Create(connection, o => o.LocalCache.Enabled = false);
        CacheKey key = CacheKey.Create("docs:technical", "install");
        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("guide"));

        await cluster.ResetStatsAsync();
        long before = connection.GetCounters().Interactive.OperationCount;
        string hit = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("not called"));
        long sent = connection.GetCounters().Interactive.OperationCount - before;

        Assert.Equal("guide", hit);
        Assert.Equal(1, sent);
        Assert.Equal(1, await cluster.CommandCallsAsync("mget"));
        Assert.Equal(0, await cluster.CommandCallsAsync("evalsha"));
    }

    [Fact]
    public async Task Every_invalidation_works_across_slots_and_nodes()
    {
        await using ConnectionMultiplexer connection = await ConnectAsync();
        using SmartCache cache = TestCache.Create(connection);
        for (int i = 0; i < 200; i++)
        {
            string ns = (i % 4) switch { 0 => "docs", 1 => "docs:technical", 2 => "faqs", _ => "products" };
            await cache.SetAsync(CacheKey.Entity(ns, i), i, new CacheEntryOptions { DependsOn = [$"src:{i % 5}"] });
        }

        List<string> keys = await TestCache.KeysAsync(connection, cache);
        int nodes = keys.Select(k => connection.GetServer((RedisKey)k).EndPoint.ToString()).Distinct().Count();
        Assert.Equal(3, nodes); // the shards really spread the entries over the three primaries

        Assert.Equal(40, await cache.InvalidateSourceAsync("src:1"));
        Assert.Equal(80, await cache.InvalidateSourcesAsync(["src:2", "src:3"]));
        NamespaceInvalidationReport docs = await cache.InvalidateNamespaceAsync("docs");
        await cache.InvalidateNamespaceVersionAsync("faqs");

        int left = 0;
        for (int i = 0; i < 200; i++)
        {
            string ns = (i % 4) switch { 0 => "docs", 1 => "docs:technical", 2 => "faqs", _ => "products" };
            if ((await cache.GetAsync<int>(CacheKey.Entity(ns, i))).Found)
            {
                left++;
                Assert.True(ns == "products" && i % 5 is 0 or 4, $"{ns}/{i} should have been invalidated");
            }
        }

        Assert.Equal(20, left); // products with sources 0 and 4
        Assert.Equal(40, docs.Deleted); // docs and docs:technical entries with sources 0 and 4, on every primary
        await cache.InvalidateAllAsync();
        Assert.False((await cache.GetAsync<int>(CacheKey.Entity("products", 3))).Found);
    }

    [Fact]
    public async Task Thousand_callers_on_two_nodes_share_one_factory_call_on_the_cluster()
    {
        await using ConnectionMultiplexer first = await ConnectAsync();
        await using ConnectionMultiplexer second = await ConnectAsync();
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache nodeA = TestCache.Create(first, o => o.KeyPrefix = prefix);
        using SmartCache nodeB = TestCache.Create(second, o => o.KeyPrefix = prefix);
        int calls = 0;
        async ValueTask<string> Load(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            await Task.Delay(50, ct);
            return "once";
        }

        string[] values = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i =>
            Task.Run(async () => await (i % 2 == 0 ? nodeA : nodeB).GetOrSetAsync(CacheKey.Create("cold"), Load))));

        Assert.Equal(1, calls);
        Assert.All(values, v => Assert.Equal("once", v));
    }

    [Fact]
    public async Task Event_stream_and_consumer_work_on_the_cluster()
    {
        await using ConnectionMultiplexer connection = await ConnectAsync();
        using SmartCache cache = TestCache.Create(connection);
        await cache.SetAsync(CacheKey.Entity("product-view", 1), "view", new CacheEntryOptions { DependsOn = ["product:1"] });
        var stream = new RedisEventStream(RedisConnection.FromExisting(connection), $"{{{cache.Layout.Prefix}}}:events");
        var invalidation = new InvalidationEvent { Type = "product.updated", Entity = "product:1", EntityVersion = 2, Sources = ["product:1"] };
        var consumer = new InvalidationConsumer(cache, stream, new FixedOptionsMonitor<InvalidationConsumerOptions>(new InvalidationConsumerOptions()), null, null);

        await consumer.ProcessOnceAsync(); // creates the group
        await stream.PublishAsync(invalidation.Id, InvalidationEventJson.Serialize(invalidation));
        await stream.PublishAsync(invalidation.Id, InvalidationEventJson.Serialize(invalidation)); // a duplicate
        int handled = await consumer.ProcessOnceAsync();

        Assert.Equal(2, handled);
        Assert.False((await cache.GetAsync<string>(CacheKey.Entity("product-view", 1))).Found);
    }

    [Fact]
    public async Task Tenant_purge_reaches_every_primary()
    {
        await using ConnectionMultiplexer connection = await ConnectAsync();
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache tenantA = TestCache.Create(connection, o => { o.KeyPrefix = prefix; o.Tenant = "a"; });
        using SmartCache tenantB = TestCache.Create(connection, o => { o.KeyPrefix = prefix; o.Tenant = "b"; });
        for (int i = 0; i < 100; i++)
        {
            await tenantA.SetAsync(CacheKey.Entity("item", i), i);
            await tenantB.SetAsync(CacheKey.Entity("item", i), i);
        }

        var admin = new SmartCacheAdministration(new SmartCacheOptions { KeyPrefix = prefix }, RedisConnection.FromExisting(connection), null, null);
        PurgeReport report = await admin.PurgeTenantAsync("a", "ops", "cluster test");

        Assert.True(report.Deleted >= 100);
        Assert.False((await tenantA.GetAsync<int>(CacheKey.Entity("item", 7))).Found);
        Assert.True((await tenantB.GetAsync<int>(CacheKey.Entity("item", 7))).Found);
    }
}
