using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>What the client throws besides timeouts — a command it refuses to send, a failure between two steps — never fails a read or leaves a lease behind.</summary>
[Collection(RedisCollection.Name)]
public sealed class RefusedCommandTests(RedisFixture redis)
{
    [Fact]
    public async Task Reads_fall_back_when_the_client_refuses_the_cache_commands()
    {
        // A command map without MGET and scripts (as some managed services configure it): StackExchange.Redis throws
        // RedisCommandException, synchronously, before anything is sent.
        ConfigurationOptions configuration = ConfigurationOptions.Parse(redis.ConnectionString);
        configuration.CommandMap = CommandMap.Create(["MGET", "EVALSHA", "EVAL"], available: false);
        await using ConnectionMultiplexer restricted = await ConnectionMultiplexer.ConnectAsync(configuration);
        using SmartCache cache = TestCache.Create(restricted);
        using var metrics = new MetricRecorder();

        string loaded = await cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult("from the source"));
        CacheResult<string> peeked = await cache.GetAsync<string>(CacheKey.Create("k"));

        Assert.Equal("from the source", loaded);
        Assert.False(peeked.Found);
        Assert.Equal(2, metrics["cacheinvalidation.requests/error"]);
        await Assert.ThrowsAsync<CacheStoreException>(async () => await cache.InvalidateKeyAsync(CacheKey.Create("k")));
    }

    [Fact]
    public async Task Direct_set_with_sources_that_fails_after_taking_the_lease_gives_it_back()
    {
        var hooks = new StoreHooks();
        bool fail = true;
        hooks.Before = name => name == "Write" && Volatile.Read(ref fail)
            ? Task.FromException(new CacheStoreException("connection lost before the write"))
            : Task.CompletedTask;
        using SmartCache cache = TestCache.Create(redis.Admin, hooks);
        CacheKey key = CacheKey.Entity("product-view", 3);

        await Assert.ThrowsAsync<CacheStoreException>(async () => await cache.SetAsync(key, "v", new CacheEntryOptions { DependsOn = ["product:3"] }));
        Volatile.Write(ref fail, false);

        Assert.DoesNotContain(await TestCache.KeysAsync(redis, cache), k => k.EndsWith("#l", StringComparison.Ordinal));
        int calls = 0;
        string next = await cache.GetOrSetAsync(key, _ => { calls++; return ValueTask.FromResult("loaded"); }).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("loaded", next); // no wait for a lease nobody holds
        Assert.Equal(1, calls);
    }
}
