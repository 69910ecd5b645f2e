using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Tests.Integration;

[Collection(RedisCollection.Name)]
public sealed class DependencyInjectionTests(RedisFixture redis)
{
    [Fact]
    public async Task AddSmartCache_registers_one_cache_behind_both_interfaces()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSmartCache(o =>
        {
            o.Configuration = redis.ConnectionString;
            o.KeyPrefix = "di" + Guid.NewGuid().ToString("N")[..8];
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        ICacheInvalidator invalidator = provider.GetRequiredService<ICacheInvalidator>();
        int calls = 0;
        await cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(++calls));
        await invalidator.InvalidateAllAsync();
        await cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(++calls));

        Assert.Same(cache, invalidator);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Existing_multiplexer_is_used_and_not_disposed()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => o.KeyPrefix = "di" + Guid.NewGuid().ToString("N")[..8])
            .WithConnectionMultiplexer(redis.Admin);

        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            ISmartCache cache = provider.GetRequiredService<ISmartCache>();
            await cache.SetAsync(CacheKey.Create("k"), "v");
            Assert.Equal("v", (await cache.GetAsync<string>(CacheKey.Create("k"))).Value);
        }

        Assert.True(redis.Admin.IsConnected);
        Assert.True(await redis.Admin.GetDatabase().PingAsync() >= TimeSpan.Zero);
    }
}
