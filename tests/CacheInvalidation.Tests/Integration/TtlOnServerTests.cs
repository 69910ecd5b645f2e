using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class TtlOnServerTests(RedisFixture redis)
{
    [Fact]
    public async Task Entry_has_the_ttl_of_its_options_on_the_server()
    {
        using SmartCache cache = TestCache.Create(redis, TestCache.WithoutStaleBudget);

        await cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(1),
            new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(100), Jitter = TimeSpan.Zero });

        string key = Assert.Single(await TestCache.EntryKeysAsync(redis, cache));
        TimeSpan? ttl = await redis.Admin.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value.TotalSeconds, 95, 100);
    }

    [Fact]
    public async Task Jitter_spreads_the_ttls_of_many_keys_inside_the_budget()
    {
        using SmartCache cache = TestCache.Create(redis, TestCache.WithoutStaleBudget);
        var options = new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(1000), Jitter = TimeSpan.FromSeconds(500) };

        for (int i = 0; i < 200; i++)
        {
            await cache.SetAsync(CacheKey.Entity("item", i), i, options);
        }

        IDatabase db = redis.Admin.GetDatabase();
        var ttls = new List<double>();
        foreach (string key in await TestCache.EntryKeysAsync(redis, cache))
        {
            ttls.Add((await db.KeyTimeToLiveAsync(key))!.Value.TotalSeconds);
        }

        Assert.Equal(200, ttls.Count);
        Assert.All(ttls, t => Assert.InRange(t, 490, 1000));
        Assert.True(ttls.Max() - ttls.Min() > 400, $"spread {ttls.Max() - ttls.Min():F0} s");
        Assert.True(ttls.Count(t => t < 750) > 50 && ttls.Count(t => t >= 750) > 50, "TTLs should spread over the whole jitter range");
    }

    [Fact]
    public async Task Every_entry_gets_a_ttl_unless_never_expire_is_asked()
    {
        using SmartCache cache = TestCache.Create(redis, TestCache.WithoutStaleBudget);

        await cache.SetAsync(CacheKey.Create("default"), 1);
        await cache.SetAsync(CacheKey.Create("content"), 1, new CacheEntryOptions { ContentType = global::CacheInvalidation.Policy.ContentType.RealTime });
        await cache.SetAsync(CacheKey.Create("forever"), 1, new CacheEntryOptions { NeverExpire = true });

        IDatabase db = redis.Admin.GetDatabase();
        foreach (string key in await TestCache.EntryKeysAsync(redis, cache))
        {
            TimeSpan? ttl = await db.KeyTimeToLiveAsync(key);
            if (key.EndsWith(":forever", StringComparison.Ordinal))
            {
                Assert.Null(ttl);
            }
            else
            {
                Assert.NotNull(ttl);
                Assert.True(ttl.Value <= (key.EndsWith(":content", StringComparison.Ordinal) ? TimeSpan.FromMinutes(5) : TimeSpan.FromMinutes(10)));
            }
        }
    }

    [Fact]
    public async Task Entry_expires_on_the_server()
    {
        using SmartCache cache = TestCache.Create(redis, TestCache.WithoutStaleBudget);
        CacheKey key = CacheKey.Create("short");
        await cache.SetAsync(key, "v", new CacheEntryOptions { Ttl = TimeSpan.FromMilliseconds(200), Jitter = TimeSpan.Zero });

        Assert.True((await cache.GetAsync<string>(key)).Found);

        // Poll with a deadline: the server's clock decides, not ours.
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await cache.GetAsync<string>(key)).Found)
        {
            Assert.True(DateTime.UtcNow < deadline, "the entry did not expire");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Stale_budget_extends_the_server_ttl_beyond_the_fresh_ttl()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.Policies[global::CacheInvalidation.Policy.DataClass.BestEffort] =
            global::CacheInvalidation.Policy.CachePolicy.Ttl(TimeSpan.FromSeconds(100), TimeSpan.Zero).WithStaleBudget(TimeSpan.FromSeconds(50)));

        await cache.SetAsync(CacheKey.Create("k"), 1, new CacheEntryOptions { DataClass = global::CacheInvalidation.Policy.DataClass.BestEffort });

        string key = Assert.Single(await TestCache.EntryKeysAsync(redis, cache));
        TimeSpan? ttl = await redis.Admin.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value.TotalSeconds, 145, 150);
    }
}
