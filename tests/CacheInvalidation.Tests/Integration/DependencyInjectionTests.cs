using CacheInvalidation.Events;
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
            TestCache.Patient(o);
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
        services.AddSmartCache(o => { TestCache.Patient(o); o.KeyPrefix = "di" + Guid.NewGuid().ToString("N")[..8]; })
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

    [Fact]
    public async Task Named_caches_are_keyed_services_each_with_its_own_options()
    {
        string orders = "orders" + Guid.NewGuid().ToString("N")[..8];
        string catalog = "catalog" + Guid.NewGuid().ToString("N")[..8];
        var services = new ServiceCollection();
        services.AddSmartCache("orders", o => { TestCache.Patient(o); o.KeyPrefix = orders; }).WithConnectionMultiplexer(redis.Admin).AddInvalidationConsumer(_ => { });
        services.AddSmartCache("catalog", o => { TestCache.Patient(o); o.KeyPrefix = catalog; }).WithConnectionMultiplexer(redis.Admin);
        services.AddSingleton<OrdersService>();
        await using ServiceProvider provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        ISmartCache ordersCache = provider.GetRequiredService<OrdersService>().Cache;
        await ordersCache.SetAsync(CacheKey.Create("k"), 1);
        await provider.GetRequiredKeyedService<ISmartCache>("catalog").SetAsync(CacheKey.Create("k"), 2);

        Assert.Same(ordersCache, provider.GetRequiredKeyedService<ICacheInvalidator>("orders"));
        Assert.NotSame(ordersCache, provider.GetRequiredKeyedService<ISmartCache>("catalog"));
        Assert.Null(provider.GetService<ISmartCache>()); // no default cache was added
        Assert.NotNull(provider.GetRequiredKeyedService<InvalidationConsumer>("orders"));
        Assert.Null(provider.GetKeyedService<InvalidationConsumer>("catalog"));
        Assert.Equal(1, (await ordersCache.GetAsync<int>(CacheKey.Create("k"))).Value);
        Assert.Equal(2, (await provider.GetRequiredKeyedService<ISmartCache>("catalog").GetAsync<int>(CacheKey.Create("k"))).Value);
        Assert.Single(redis.Admin.GetServer(redis.Admin.GetEndPoints()[0]).Keys(pattern: "{" + orders + ":*:k"));
        Assert.Single(redis.Admin.GetServer(redis.Admin.GetEndPoints()[0]).Keys(pattern: "{" + catalog + ":*:k"));
    }

    [Fact]
    public void A_second_default_cache_or_a_taken_name_is_an_error_not_a_merge()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => o.KeyPrefix = "orders");
        services.AddSmartCache("catalog", o => o.KeyPrefix = "catalog");

        var unnamed = Assert.Throws<InvalidOperationException>(() => services.AddSmartCache(o => o.KeyPrefix = "catalog"));
        var named = Assert.Throws<InvalidOperationException>(() => services.AddSmartCache("catalog", o => o.KeyPrefix = "other"));
        Assert.Throws<ArgumentException>(() => services.AddSmartCache(" ", _ => { }));
        Assert.Throws<ArgumentNullException>(() => services.AddSmartCache((string)null!, _ => { }));

        Assert.Contains("AddSmartCache(\"name\"", unnamed.Message, StringComparison.Ordinal);
        Assert.Contains("'catalog'", named.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_options_of_a_named_cache_fail_at_start_naming_the_option()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => o.Configuration = redis.ConnectionString);
        services.AddSmartCache("orders", o => o.KeyPrefix = "orders");
        await using ServiceProvider provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal("orders", ex.OptionsName);
        Assert.Contains("Configuration", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Factories_returning_Task_need_no_cast()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => { TestCache.Patient(o); o.KeyPrefix = "di" + Guid.NewGuid().ToString("N")[..8]; }).WithConnectionMultiplexer(redis.Admin);
        await using ServiceProvider provider = services.BuildServiceProvider();
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        var repository = new Repository();

        // The shapes a user writes: a Task-returning repository method, with and without state, by CacheKey and by
        // string; and async lambdas, which still pick the ValueTask overloads.
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(42, await cache.GetOrSetAsync(CacheKey.Entity("product", 1), ct => repository.LoadAsync(42, ct)));
            Assert.Equal(7, await cache.GetOrSetAsync(CacheKey.Entity("product", 2), repository, static (r, ct) => r.LoadAsync(7, ct)));
            Assert.Equal(9, await cache.GetOrSetAsync("product-3", ct => repository.LoadAsync(9, ct)));
            Assert.Equal(5, await cache.GetOrSetAsync(CacheKey.Entity("product", 4), async ct => await repository.LoadAsync(5, ct)));
            Assert.Equal(6, await cache.GetOrSetAsync("product-5", async ct => await repository.LoadAsync(6, ct)));
        }

        Assert.Equal(5, repository.Calls); // one per key: the other reads were hits
    }

    private sealed class Repository
    {
        private int _calls;

        public int Calls => _calls;

        public async Task<int> LoadAsync(int value, CancellationToken cancellationToken)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            Interlocked.Increment(ref _calls);
            return value;
        }
    }

    private sealed class OrdersService([FromKeyedServices("orders")] ISmartCache cache)
    {
        public ISmartCache Cache { get; } = cache;
    }
}
