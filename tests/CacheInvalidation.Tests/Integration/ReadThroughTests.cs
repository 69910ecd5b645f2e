using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using CacheInvalidation.Tests.Infrastructure;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class ReadThroughTests(RedisFixture redis)
{
    [Fact]
    public async Task Miss_then_hit_calls_the_factory_once()
    {
        using SmartCache cache = TestCache.Create(redis);
        int calls = 0;
        CacheKey key = CacheKey.Entity("product", 1);

        Product first = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult(new Product(1, "Lamp", 9.5m, 1)); });
        Product second = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult(new Product(1, "Changed", 0m, 2)); });

        Assert.Equal(1, calls);
        Assert.Equal(first, second);
        Assert.Equal("Lamp", second.Name);
    }

    [Fact]
    public async Task Get_set_and_remove_round_trip()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("users", "alice");

        Assert.False((await cache.GetAsync<Product>(key)).Found);
        await cache.SetAsync(key, new Product(7, "Alice", 1m, 3));
        CacheResult<Product> hit = await cache.GetAsync<Product>(key);
        bool removed = await cache.RemoveAsync(key);
        bool removedAgain = await cache.RemoveAsync(key);

        Assert.True(hit.Found);
        Assert.Equal(new Product(7, "Alice", 1m, 3), hit.Value);
        Assert.True(removed);
        Assert.False(removedAgain);
        Assert.False((await cache.GetAsync<Product>(key)).Found);
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
    }

    [Fact]
    public async Task Invalidated_key_is_loaded_again()
    {
        using SmartCache cache = TestCache.Create(redis);
        int calls = 0;
        CacheKey key = CacheKey.Entity("product", 2);
        ValueTask<int> Load(CancellationToken _) => ValueTask.FromResult(++calls);

        await cache.GetOrSetAsync(key, Load);
        await cache.InvalidateKeyAsync(key);
        int value = await cache.GetOrSetAsync(key, Load);

        Assert.Equal(2, calls);
        Assert.Equal(2, value);
    }

    [Fact]
    public async Task String_keys_work_and_are_validated()
    {
        using SmartCache cache = TestCache.Create(redis);

        await cache.SetAsync("greeting", "hello");

        Assert.Equal("hello", (await cache.GetAsync<string>("greeting")).Value);
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.GetAsync<string>(""));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.GetAsync<string>((string)null!));
        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.GetAsync<string>("a*"));
        Assert.Equal("key", ex.ParamName);
    }

    [Fact]
    public async Task Empty_key_and_null_factory_are_rejected()
    {
        using SmartCache cache = TestCache.Create(redis);

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.GetOrSetAsync(default, _ => ValueTask.FromResult(1)));
        Assert.Equal("key", ex.ParamName);
        var nullFactory = await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.GetOrSetAsync(CacheKey.Create("k"), (Func<CancellationToken, ValueTask<int>>)null!));
        Assert.Equal("factory", nullFactory.ParamName);
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.InvalidateKeyAsync(default(CacheKey)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await cache.SetAsync(default, 1));
    }

    [Fact]
    public async Task Critical_data_bypasses_the_cache()
    {
        using SmartCache cache = TestCache.Create(redis);
        int calls = 0;
        var critical = new CacheEntryOptions { DataClass = DataClass.Critical };

        for (int i = 0; i < 3; i++)
        {
            await cache.GetOrSetAsync(CacheKey.Create("balance", "acct-1"), _ => ValueTask.FromResult(++calls), critical);
        }

        Assert.Equal(3, calls);
        Assert.Empty(await TestCache.EntryKeysAsync(redis, cache));
    }

    [Fact]
    public async Task Factory_exception_reaches_the_caller_and_nothing_is_cached()
    {
        using SmartCache cache = TestCache.Create(redis);
        CacheKey key = CacheKey.Create("flaky", "1");

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await cache.GetOrSetAsync<int>(key, _ => throw new InvalidOperationException("source down")));
        int value = await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(5));

        Assert.Equal(5, value);
    }

    [Fact]
    public async Task Cancelled_call_throws_before_calling_the_factory()
    {
        using SmartCache cache = TestCache.Create(redis);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        int calls = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(++calls), cancellationToken: cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cache.InvalidateAllAsync(cts.Token));

        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Null_values_are_cached_as_hits()
    {
        using SmartCache cache = TestCache.Create(redis);
        int calls = 0;
        CacheKey key = CacheKey.Create("missing-product", "404");

        await cache.GetOrSetAsync<Product?>(key, _ => { calls++; return ValueTask.FromResult<Product?>(null); });
        Product? again = await cache.GetOrSetAsync<Product?>(key, _ => { calls++; return ValueTask.FromResult<Product?>(null); });

        Assert.Null(again);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Tenants_do_not_see_each_other()
    {
        string prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        using SmartCache tenantA = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "a"; });
        using SmartCache tenantB = TestCache.Create(redis, o => { o.KeyPrefix = prefix; o.Tenant = "b"; });
        CacheKey key = CacheKey.Create("settings", "theme");

        await tenantA.SetAsync(key, "dark");
        await tenantB.SetAsync(key, "light");
        await tenantA.InvalidateAllAsync();

        Assert.False((await tenantA.GetAsync<string>(key)).Found);
        Assert.Equal("light", (await tenantB.GetAsync<string>(key)).Value);
    }
}
