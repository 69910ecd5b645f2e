using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CacheInvalidation.Tests.Hybrid;

[Collection(RedisCollection.Name)]
public sealed class HybridCacheRegistrationTests(RedisFixture redis)
{
    [Fact]
    public async Task Default_cache_HybridCache_is_resolvable_unkeyed_and_stores_under_the_hybrid_namespace()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => { TestCache.Patient(o); o.KeyPrefix = Prefix(); }).WithConnectionMultiplexer(redis.Admin).AsHybridCache();
        await using ServiceProvider provider = services.BuildServiceProvider();

        HybridCache hybrid = provider.GetRequiredService<HybridCache>();
        await hybrid.SetAsync("k", 7);

        Assert.Same(hybrid, provider.GetRequiredKeyedService<HybridCache>(string.Empty));
        CacheResult<int> stored = await provider.GetRequiredService<ISmartCache>().GetAsync<int>(CacheKey.Create("hybrid", "k"));
        Assert.Equal(7, stored.Value);
    }

    [Fact]
    public async Task Named_cache_HybridCache_is_a_keyed_service_under_the_cache_name()
    {
        var services = new ServiceCollection();
        services.AddSmartCache("orders", o => { TestCache.Patient(o); o.KeyPrefix = Prefix(); }).WithConnectionMultiplexer(redis.Admin).AsHybridCache();
        services.AddSmartCache("catalog", o => { TestCache.Patient(o); o.KeyPrefix = Prefix(); }).WithConnectionMultiplexer(redis.Admin).AsHybridCache();
        await using ServiceProvider provider = services.BuildServiceProvider();

        HybridCache orders = provider.GetRequiredKeyedService<HybridCache>("orders");
        HybridCache catalog = provider.GetRequiredKeyedService<HybridCache>("catalog");
        await orders.SetAsync("k", 1);
        await catalog.SetAsync("k", 2);

        Assert.Null(provider.GetService<HybridCache>()); // no default cache was added
        Assert.NotSame(orders, catalog);
        Assert.Equal(1, (await provider.GetRequiredKeyedService<ISmartCache>("orders").GetAsync<int>(CacheKey.Create("hybrid", "k"))).Value);
        Assert.Equal(2, (await provider.GetRequiredKeyedService<ISmartCache>("catalog").GetAsync<int>(CacheKey.Create("hybrid", "k"))).Value);
    }

    [Fact]
    public void AsHybridCache_twice_on_the_same_cache_is_an_error()
    {
        var services = new ServiceCollection();
        ISmartCacheBuilder orders = services.AddSmartCache("orders", o => o.KeyPrefix = "orders").AsHybridCache();
        ISmartCacheBuilder main = services.AddSmartCache(o => o.KeyPrefix = "main").AsHybridCache();

        var named = Assert.Throws<InvalidOperationException>(() => orders.AsHybridCache());
        var unnamed = Assert.Throws<InvalidOperationException>(() => main.AsHybridCache());

        Assert.Contains("'orders'", named.Message, StringComparison.Ordinal);
        Assert.Contains("default cache", unnamed.Message, StringComparison.Ordinal);
        Assert.Equal(2, services.Count(d => d.IsKeyedService && d.ServiceType == typeof(HybridCache)));
    }

    private static string Prefix() => "hyr" + Guid.NewGuid().ToString("N")[..8];
}
