using CacheInvalidation.Hybrid;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CacheInvalidation.Tests.Hybrid;

/// <summary>
/// Two application nodes as the tests see them: two service providers, each with its own <c>AddSmartCache</c> (its own
/// Redis connection and local tier) and <c>AsHybridCache()</c>, on the same Redis and key prefix. The tests speak to
/// <see cref="HybridCache"/> only; the providers' internals serve only to find an entry's Redis key.
/// </summary>
internal sealed class HybridNodes : IAsyncDisposable
{
    private readonly ServiceProvider _a;
    private readonly ServiceProvider _b;
    private readonly RedisFixture _redis;

    private HybridNodes(RedisFixture redis, ServiceProvider a, ServiceProvider b)
    {
        _redis = redis;
        _a = a;
        _b = b;
        A = a.GetRequiredService<HybridCache>();
        B = b.GetRequiredService<HybridCache>();
    }

    public HybridCache A { get; }

    public HybridCache B { get; }

    public static HybridNodes Start(RedisFixture redis, Action<SmartHybridCacheOptions>? configure = null)
    {
        string prefix = "hy" + Guid.NewGuid().ToString("N")[..8];
        return new HybridNodes(redis, Node(redis, prefix, configure), Node(redis, prefix, configure));
    }

    /// <summary>
    /// Polls until <paramref name="node"/> serves <paramref name="key"/> (holding <paramref name="value"/>) from its
    /// memory: the entry is deleted from Redis behind every node's back (no invalidation, no message), so a read that
    /// still returns without calling the factory can only have come from the node's local tier. A read that did call it
    /// loaded <paramref name="value"/> again, and the next round tries again.
    /// </summary>
    public async Task HeldInMemoryAsync(HybridCache node, string key, int value, IEnumerable<string>? tags = null)
    {
        string entryKey = EntryKey(key);
        await Eventually.HoldsAsync(
            async () =>
            {
                Assert.Equal(value, await node.GetOrCreateAsync(key, _ => ValueTask.FromResult(value), tags: tags));
                await _redis.Admin.GetDatabase().KeyDeleteAsync(entryKey);
                bool called = false;
                Assert.Equal(value, await node.GetOrCreateAsync(key, _ => { called = true; return ValueTask.FromResult(value); }, tags: tags));
                return !called;
            },
            $"the node never served '{key}' from its memory");
    }

    /// <summary>The Redis key of the entry of HybridCache key <paramref name="key"/>.</summary>
    public string EntryKey(string key) =>
        _a.GetRequiredService<SmartCache>().Layout.Address(HybridCacheKeys.ToCacheKey(key)).EntryKey;

    public async ValueTask DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static ServiceProvider Node(RedisFixture redis, string prefix, Action<SmartHybridCacheOptions>? configure)
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o =>
        {
            TestCache.Patient(o);
            o.Configuration = redis.ConnectionString;
            o.KeyPrefix = prefix;
        }).AsHybridCache(configure);
        return services.BuildServiceProvider();
    }
}
