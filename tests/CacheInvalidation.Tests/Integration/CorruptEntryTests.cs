using System.Text;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class CorruptEntryTests(RedisFixture redis)
{
    [Theory]
    [InlineData("\u0003{not json")] // our format byte, broken payload
    [InlineData("plain text from another writer")] // unknown format
    [InlineData("")] // empty payload
    public async Task Corrupt_entry_is_a_miss_deleted_counted_and_reloaded(string garbage)
    {
        using SmartCache cache = TestCache.Create(redis);
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Entity("product", 1);
        await cache.SetAsync(key, new Product(1, "Lamp", 1m, 1));
        string redisKey = Assert.Single(await TestCache.EntryKeysAsync(redis, cache));
        IDatabase db = redis.Admin.GetDatabase();
        byte[] stored = (await db.StringGetAsync(redisKey))!;
        int stampEnd = Array.IndexOf(stored, (byte)'|');
        await db.StringSetAsync(redisKey, stored[..(stampEnd + 1)].Concat(Encoding.UTF8.GetBytes(garbage)).ToArray(), TimeSpan.FromMinutes(1));
        int calls = 0;

        Product value = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult(new Product(1, "Reloaded", 2m, 2)); });

        Assert.Equal("Reloaded", value.Name);
        Assert.Equal(1, calls);
        Assert.Equal(1, metrics["cacheinvalidation.entries.corrupt"]);
        Assert.Equal("Reloaded", (await cache.GetAsync<Product>(key)).Value.Name); // rewritten with a readable value
    }

    [Theory]
    [InlineData("plain text from another writer")]
    [InlineData("")]
    [InlineData("1.2.3")]
    public async Task Value_without_the_current_stamp_is_a_plain_miss_and_is_overwritten(string foreign)
    {
        using SmartCache cache = TestCache.Create(redis);
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Entity("product", 1);
        await cache.SetAsync(key, new Product(1, "Lamp", 1m, 1));
        string redisKey = Assert.Single(await TestCache.EntryKeysAsync(redis, cache));
        await redis.Admin.GetDatabase().StringSetAsync(redisKey, foreign, TimeSpan.FromMinutes(1));

        Assert.False((await cache.GetAsync<Product>(key)).Found);
        Product value = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(new Product(1, "Reloaded", 2m, 2)));

        Assert.Equal("Reloaded", value.Name);
        Assert.Equal(0, metrics["cacheinvalidation.entries.corrupt"]);
        Assert.Equal("Reloaded", (await cache.GetAsync<Product>(key)).Value.Name);
    }

    [Fact]
    public async Task Entry_of_an_incompatible_shape_is_a_miss_for_get_and_is_deleted()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("shape");
        await cache.SetAsync(key, "a string, not a product");

        CacheResult<Product> read = await cache.GetAsync<Product>(key);

        Assert.False(read.Found);
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
    }
}
