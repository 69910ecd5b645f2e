using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class VersionTagTests(RedisFixture redis)
{
    [Fact]
    public async Task Version_bump_invalidates_every_entry_and_the_next_write_reuses_its_key()
    {
        using SmartCache cache = TestCache.Create(redis);
        int calls = 0;
        var keys = Enumerable.Range(0, 50).Select(i => CacheKey.Entity(i % 2 == 0 ? "product" : "docs:technical", i)).ToList();
        foreach (CacheKey key in keys)
        {
            await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(++calls));
        }

        List<string> before = await TestCache.EntryKeysAsync(redis, cache);
        await cache.InvalidateAllAsync();
        foreach (CacheKey key in keys)
        {
            Assert.False((await cache.GetAsync<int>(key)).Found); // never read again…
        }

        foreach (CacheKey key in keys)
        {
            await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(++calls));
        }

        Assert.Equal(100, calls);
        Assert.Equal(50, before.Count);
        List<string> after = await TestCache.EntryKeysAsync(redis, cache);
        Assert.Equal(before.Order(StringComparer.Ordinal), after.Order(StringComparer.Ordinal)); // …and overwritten in place: no orphan
        IDatabase db = redis.Admin.GetDatabase();
        foreach (string key in after)
        {
            Assert.NotNull(await db.KeyTimeToLiveAsync(key));
        }
    }

    [Fact]
    public async Task Namespace_bump_invalidates_that_namespace_and_its_children_only()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey docs = CacheKey.Create("docs", "index");
        CacheKey technical = CacheKey.Create("docs:technical", "install");
        CacheKey faqs = CacheKey.Create("faqs", "billing");
        CacheKey plain = CacheKey.Create("home");
        foreach (CacheKey key in new[] { docs, technical, faqs, plain })
        {
            await cache.SetAsync(key, key.ToString());
        }

        await cache.InvalidateNamespaceVersionAsync("docs");

        Assert.False((await cache.GetAsync<string>(docs)).Found);
        Assert.False((await cache.GetAsync<string>(technical)).Found);
        Assert.True((await cache.GetAsync<string>(faqs)).Found);
        Assert.True((await cache.GetAsync<string>(plain)).Found);
    }

    [Fact]
    public async Task Value_read_before_a_bump_is_not_written_after_it()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Entity("product", 9);
        int calls = 0;
        using var metrics = new MetricRecorder();

        // The bump lands while the factory is computing (the value it returns predates the bump).
        string first = await cache.GetOrSetAsync(key, async ct =>
        {
            calls++;
            await cache.InvalidateAllAsync(ct);
            return "old";
        });
        string second = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult("new"); });

        Assert.Equal("old", first); // the caller still gets its value
        Assert.Equal("new", second);
        Assert.Equal(2, calls);
        Assert.Equal(1, metrics["cacheinvalidation.writes/refused"]);
    }

    [Fact]
    public async Task Concurrent_bumps_from_two_connections_are_never_lost()
    {
        using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache a = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.VersionShards = 8; });
        using SmartCache b = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.VersionShards = 8; }, second);
        IDatabase db = redis.Admin.GetDatabase();
        IReadOnlyList<string> versionKeys = a.Layout.GlobalVersionKeys();
        for (int i = 0; (await Task.WhenAll(versionKeys.Select(k => db.KeyExistsAsync(k)))).Contains(false); i++)
        {
            await a.SetAsync(CacheKey.Entity("item", i), i); // writes create the versions of the shards they land in
        }

        long[] start = await Task.WhenAll(versionKeys.Select(async k => (long)await db.StringGetAsync(k)));

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            for (int n = 0; n < 5; n++)
            {
                await (i % 2 == 0 ? a : b).InvalidateAllAsync();
            }
        })));

        long[] end = await Task.WhenAll(versionKeys.Select(async k => (long)await db.StringGetAsync(k)));
        for (int shard = 0; shard < versionKeys.Count; shard++)
        {
            Assert.Equal(start[shard] + 200, end[shard]);
        }
    }

    [Fact]
    public async Task Lost_version_key_restarts_above_every_earlier_version()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.VersionShards = 1);
        CacheKey key = CacheKey.Create("k");
        await cache.SetAsync(key, "before");
        IDatabase db = redis.Admin.GetDatabase();
        string versionKey = cache.Layout.GlobalVersionKeys()[0];
        long oldVersion = (long)await db.StringGetAsync(versionKey);

        await db.KeyDeleteAsync(versionKey); // as eviction under allkeys-lru would
        CacheResult<string> read = await cache.GetAsync<string>(key);
        string reloaded = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult("after"));
        long newVersion = (long)await db.StringGetAsync(versionKey);

        Assert.False(read.Found);
        Assert.Equal("after", reloaded);
        Assert.True(newVersion > oldVersion, $"{newVersion} should exceed {oldVersion}");
    }
}
