using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>What the one key schema promises on a real server: anchored scans, no key without a TTL from a read, a hit that needs no per-scope state.</summary>
[Collection(RedisCollection.Name)]
public sealed class KeySchemaTests(RedisFixture redis)
{
    [Fact]
    public async Task Scans_and_purges_never_reach_a_cache_whose_prefix_extends_this_ones()
    {
        // Prefix P with tenant t1, and prefix "P:t1" with tenant 9: their keys begin with the same characters.
        string prefix = "acc" + Guid.NewGuid().ToString("N")[..8];
        using SmartCache mine = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "t1"; });
        using SmartCache other = TestCache.Create(redis, o => { o.KeyPrefix = prefix + ":t1"; o.Tenant = "9"; });
        for (int i = 0; i < 20; i++)
        {
            await mine.SetAsync(CacheKey.Entity("docs", i), i, new CacheEntryOptions { DependsOn = ["src:1"] });
            await other.SetAsync(CacheKey.Entity("docs", i), i, new CacheEntryOptions { DependsOn = ["src:1"] });
        }

        List<string> otherKeys = await TestCache.KeysAsync(redis, other);
        var admin = new SmartCacheAdministration(new SmartCacheOptions { KeyPrefix = prefix }, RedisConnection.FromExisting(redis.Admin), null, null);

        NamespaceInvalidationReport scan = await mine.InvalidateNamespaceAsync("docs");
        await admin.PurgeTenantAsync("t1", "ops", "anchoring check");
        await admin.PurgeAllTenantsAsync("ops", "anchoring check");

        Assert.Equal(20, scan.Deleted);
        Assert.DoesNotContain(await TestCache.KeysAsync(redis, mine), k => !k.StartsWith("{" + prefix + ":t1:", StringComparison.Ordinal) && !k.StartsWith("{" + prefix + ":t1}", StringComparison.Ordinal));
        Assert.Equal(otherKeys.Order(StringComparer.Ordinal), (await TestCache.KeysAsync(redis, other)).Order(StringComparer.Ordinal));
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(i, (await other.GetAsync<int>(CacheKey.Entity("docs", i))).Value);
        }
    }

    [Fact]
    public async Task Reads_never_create_a_key_without_a_ttl()
    {
        using SmartCache cache = TestCache.Create(redis);
        IDatabase db = redis.Admin.GetDatabase();

        // Namespaces derived from user input: a peek creates nothing at all…
        for (int i = 0; i < 1000; i++)
        {
            Assert.False((await cache.GetAsync<int>(CacheKey.Create($"user-{i}:page", "x"))).Found);
        }

        Assert.Empty(await TestCache.KeysAsync(redis, cache));

        // …and a miss whose load fails, or succeeds, leaves only keys that expire.
        for (int i = 0; i < 1000; i++)
        {
            CacheKey key = CacheKey.Create($"user-{i}:page", "x");
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetOrSetAsync<int>(key, _ => throw new InvalidOperationException("source down")));
            if (i % 10 == 0)
            {
                await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(i));
            }
        }

        List<string> keys = await TestCache.KeysAsync(redis, cache);
        TimeSpan?[] ttls = await Task.WhenAll(keys.Select(k => db.KeyTimeToLiveAsync(k)));
        Assert.True(keys.Count >= 1000, $"{keys.Count} keys");
        Assert.DoesNotContain(null, ttls);
    }

    [Fact]
    public async Task Hit_is_one_MGET_and_no_script_with_more_scopes_than_any_process_keeps()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        using SmartCache writer = TestCache.Create(redis, o => o.VersionShards = 1);
        // The Redis hit is measured: the local tier (and its confirmation reads) is off.
        using SmartCache reader = TestCache.Create(redis, o => { o.KeyPrefix = writer.Layout.Prefix; o.VersionShards = 1; o.LocalCache.Enabled = false; }, connection);
        const int Scopes = 20_000;
        foreach (int[] chunk in Enumerable.Range(0, Scopes).Chunk(2_000))
        {
            await Task.WhenAll(chunk.Select(i => writer.SetAsync(CacheKey.Create($"ns-{i}", "k"), i).AsTask()));
        }

        for (int i = 0; i < Scopes; i++)
        {
            await reader.GetAsync<int>(CacheKey.Create($"ns-{i}", "k")); // every scope has been read once
        }

        await redis.ResetStatsAsync();
        int[] hits = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => reader.GetOrSetAsync(CacheKey.Create($"ns-{i * 311}", "k"), _ => ValueTask.FromResult(-1)).AsTask()));
        IReadOnlyDictionary<string, long> commands = await redis.CommandStatsAsync();

        Assert.Equal(Enumerable.Range(0, 64).Select(i => i * 311), hits);
        Assert.Equal(64, commands.GetValueOrDefault("mget"));
        Assert.Equal(0, commands.GetValueOrDefault("evalsha"));
    }

    [Fact]
    public async Task Peeks_never_take_a_lease_while_loads_run_beside_them()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.VersionShards = 1);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 300; i++)
            {
                if (worker % 2 == 0)
                {
                    await cache.GetAsync<int>(CacheKey.Create("peek", $"{worker}-{i}"));
                }
                else
                {
                    await cache.GetOrSetAsync(CacheKey.Create("load", $"{worker}-{i}"), _ => ValueTask.FromResult(i));
                }
            }
        })));

        Assert.DoesNotContain(await TestCache.KeysAsync(redis, cache), k => k.Contains(":peek:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Application_with_other_version_shards_is_refused_loudly_until_the_prefix_is_purged()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache sixteen = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.VersionShards = 16; });
        using SmartCache eight = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.VersionShards = 8; });
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Entity("product", 12);
        await sixteen.SetAsync(key, "v1"); // records the layout of the prefix

        // The other layout would bump and delete other keys than the ones this entry lives under: refused, never silent.
        var invalidate = await Assert.ThrowsAsync<InvalidOperationException>(async () => await eight.InvalidateAllAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await eight.InvalidateKeyAsync(key));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await eight.SetAsync(key, "v2"));
        string loaded = await eight.GetOrSetAsync(CacheKey.Create("other"), _ => ValueTask.FromResult("loaded")); // reads still work…
        var admin = new SmartCacheAdministration(new SmartCacheOptions { KeyPrefix = prefix, VersionShards = 8 }, RedisConnection.FromExisting(redis.Admin), null, null);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await admin.PurgeTenantAsync("default", "ops", "wrong layout"));

        Assert.Contains("VersionShards is 8", invalidate.Message, StringComparison.Ordinal);
        Assert.Contains("shards=16", invalidate.Message, StringComparison.Ordinal);
        Assert.Equal("loaded", loaded);
        Assert.False((await eight.GetAsync<string>(CacheKey.Create("other"))).Found); // …but cache nothing
        Assert.Equal("v1", (await sixteen.GetAsync<string>(key)).Value);

        // The layout is the prefix's for good, purges included: a new value of VersionShards goes with a new prefix.
        await admin.PurgeAllTenantsAsync("ops", "trying to change VersionShards in place");
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await eight.SetAsync(key, "v2"));
        using SmartCache renamed = TestCache.Create(redis, o => { o.KeyPrefix = prefix + "-v2"; o.VersionShards = 8; });
        await renamed.SetAsync(key, "v2");
        Assert.Equal("v2", (await renamed.GetAsync<string>(key)).Value);
    }

    [Fact]
    public void Bounded_cache_stays_bounded_and_keeps_answering()
    {
        var cache = new BoundedCache<int, string>(1_000);
        for (int i = 0; i < 100_000; i++)
        {
            Assert.Equal($"v{i}", cache.GetOrAdd(i, static (k, _) => $"v{k}", 0));
        }

        Assert.InRange(cache.Count, 1, 1_000);
        Assert.Equal("fresh", cache.GetOrAdd(-1, static (_, _) => "fresh", 0));
    }
}
