using System.Text;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class CorruptEntryTests(RedisFixture redis)
{
    [Theory]
    [InlineData("\u0001{not json")] // our format byte, broken payload
    [InlineData("plain text from another writer")] // unknown format
    [InlineData("")] // empty value
    public async Task Corrupt_entry_is_a_miss_deleted_counted_and_reloaded(string garbage)
    {
        using SmartCache cache = TestCache.Create(redis);
        using var metrics = new MetricRecorder();
        CacheKey key = CacheKey.Entity("product", 1);
        await cache.SetAsync(key, new Product(1, "Lamp", 1m, 1));
        string redisKey = Assert.Single(await TestCache.EntryKeysAsync(redis, cache));
        IDatabase db = redis.Admin.GetDatabase();
        await db.StringSetAsync(redisKey, Encoding.UTF8.GetBytes(garbage), TimeSpan.FromMinutes(1));
        int calls = 0;

        Product value = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult(new Product(1, "Reloaded", 2m, 2)); });

        Assert.Equal("Reloaded", value.Name);
        Assert.Equal(1, calls);
        Assert.Equal(1, metrics["cache.entries.corrupt"]);
        Assert.Equal("Reloaded", (await cache.GetAsync<Product>(key)).Value.Name); // rewritten with a readable value
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
