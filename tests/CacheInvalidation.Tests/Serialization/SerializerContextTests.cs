using System.Buffers;
using System.Text;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;

namespace CacheInvalidation.Tests.Serialization;

/// <summary>
/// The serializer of trimmed and Native AOT applications: a source-generated context caches like the default, and a
/// configuration it cannot work with fails the call loudly instead of leaving the application silently uncached.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class SerializerContextTests(RedisFixture redis)
{
    private static readonly SystemTextJsonCacheSerializer FromContext = new(TestJsonContext.Default);

    [Fact]
    public async Task Context_serializer_caches_a_declared_type()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.Serializer = FromContext);
        CacheKey key = CacheKey.Entity("product", 1);
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            Product value = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult(new Product(1, "Lamp", 9.5m, 1)); });
            Assert.Equal("Lamp", value.Name);
        }

        Assert.Equal(1, calls);
        Assert.Single(await TestCache.EntryKeysAsync(redis, cache));
    }

    [Fact]
    public void Context_with_web_defaults_writes_what_the_default_serializer_reads()
    {
        var product = new Product(7, "Desk", 120m, 3);
        var written = new ArrayBufferWriter<byte>();

        FromContext.Serialize(product, written);

        Assert.Equal("{\"id\":7,\"name\":\"Desk\",\"price\":120,\"version\":3}", Encoding.UTF8.GetString(written.WrittenSpan));
        Assert.Equal(product, SystemTextJsonCacheSerializer.Default.Deserialize<Product>(written.WrittenSpan));
    }

    [Fact]
    public async Task Type_missing_from_the_context_fails_GetOrSet_naming_the_type_and_the_fix()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.Serializer = FromContext);
        CacheKey key = CacheKey.Entity("order", 1);
        int calls = 0;
        ValueTask<Order> Load(CancellationToken _)
        {
            calls++;
            return ValueTask.FromResult(new Order(1, [new Product(1, "Lamp", 1m, 1)]));
        }

        var first = await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await cache.GetOrSetAsync(key, Load));
        // Thrown again, not served after a lease wait: the first call gave its lease back before failing.
        var second = await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await cache.GetOrSetAsync(key, Load));

        Assert.Contains("[JsonSerializable(typeof(Order))]", first.Message, StringComparison.Ordinal);
        Assert.Contains("SmartCacheOptions.Serializer", first.Message, StringComparison.Ordinal);
        Assert.Contains("TestJsonContext", first.Message, StringComparison.Ordinal);
        Assert.Equal(first.Message, second.Message);
        Assert.Equal(2, calls);
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
    }

    [Fact]
    public async Task Type_missing_from_the_context_fails_Set()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.Serializer = FromContext);

        var ex = await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await cache.SetAsync(CacheKey.Entity("order", 1), new Order(1, [])));

        Assert.Contains("[JsonSerializable(typeof(Order))]", ex.Message, StringComparison.Ordinal);
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
    }

    [Fact]
    public async Task Reading_an_entry_of_a_type_missing_from_the_context_fails_instead_of_reading_a_miss()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache writer = TestCache.Create(redis, o => o.KeyPrefix = prefix);
        using SmartCache reader = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Serializer = FromContext; });
        CacheKey key = CacheKey.Entity("order", 1);
        await writer.SetAsync(key, new Order(1, []));

        var ex = await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await reader.GetAsync<Order>(key));

        Assert.Contains("[JsonSerializable(typeof(Order))]", ex.Message, StringComparison.Ordinal);
        Assert.Single(await TestCache.EntryKeysAsync(redis, writer)); // not deleted as corrupt
    }

    [Fact]
    public async Task Data_the_context_cannot_read_is_still_a_miss()
    {
        using SmartCache cache = TestCache.Create(redis, o => o.Serializer = FromContext);
        CacheKey key = CacheKey.Entity("product", 1);
        await cache.SetAsync(key, "a string, not a product");

        Assert.False((await cache.GetAsync<Product>(key)).Found);
        Product reloaded = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(new Product(1, "Reloaded", 1m, 1)));

        Assert.Equal("Reloaded", reloaded.Name);
        Assert.Equal("Reloaded", (await cache.GetAsync<Product>(key)).Value.Name);
    }

    [Fact]
    public void Without_reflection_and_without_a_context_first_use_fails_naming_the_option()
    {
        var serializer = new SystemTextJsonCacheSerializer(options: null, reflectionAllowed: false);

        var ex = Assert.ThrowsAny<InvalidOperationException>(() => serializer.Serialize(new Product(1, "Lamp", 1m, 1), new ArrayBufferWriter<byte>()));

        Assert.Contains("SmartCacheOptions.Serializer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("JsonSerializerContext", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ex.Message, SystemTextJsonCacheSerializer.ConfigurationProblem(serializer));
    }

    [Fact]
    public void With_reflection_or_a_context_there_is_no_configuration_problem()
    {
        Assert.Null(SystemTextJsonCacheSerializer.ConfigurationProblem(SystemTextJsonCacheSerializer.Default));
        Assert.Null(SystemTextJsonCacheSerializer.ConfigurationProblem(FromContext));
        Assert.Null(SystemTextJsonCacheSerializer.ConfigurationProblem(new SystemTextJsonCacheSerializer(TestJsonContext.Default.Options)));
    }
}
