using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheInvalidation.Hybrid.Benchmarks;

/// <summary>Application nodes as an application builds them: one service provider each, on the Redis of <c>REDIS_URL</c>.</summary>
internal static class Nodes
{
    public static string RedisUrl =>
        Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } url
            ? url
            : throw new InvalidOperationException("Set REDIS_URL (benchmarks/run-hybrid.sh starts a private redis-server and sets it).");

    /// <summary>A node whose HybridCache is SmartCache's adapter: <c>AddSmartCache(...).AsHybridCache()</c>.</summary>
    public static ServiceProvider Smart(string prefix)
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o =>
        {
            o.Configuration = RedisUrl;
            o.KeyPrefix = prefix;
        }).AsHybridCache(o => o.DefaultEntryOptions = new HybridCacheEntryOptions { Expiration = TimeSpan.FromHours(1) });
        return services.BuildServiceProvider();
    }

    /// <summary>A node whose HybridCache is Microsoft's, with Redis as its distributed tier.</summary>
    public static ServiceProvider Microsoft(string prefix)
    {
        var services = new ServiceCollection();
        services.AddStackExchangeRedisCache(o =>
        {
            o.Configuration = RedisUrl;
            o.InstanceName = prefix + ":";
        });
        services.AddHybridCache(o => o.DefaultEntryOptions = new HybridCacheEntryOptions
        {
            Expiration = TimeSpan.FromHours(1),
            LocalCacheExpiration = TimeSpan.FromHours(1),
        });
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// The Redis key of an adapter entry, found by pattern (the benchmark sees no internals): <c>{prefix:tenant#shard}:hybrid:key</c>.
    /// The key must be one that is stored as it is (see <see cref="HybridCacheKeys"/>).
    /// </summary>
    public static async Task<RedisKey> EntryKeyAsync(IConnectionMultiplexer redis, string prefix, string key)
    {
        IServer server = redis.GetServer(redis.GetEndPoints()[0]);
        await foreach (RedisKey found in server.KeysAsync(pattern: $"{{{prefix}:*}}:{HybridCacheKeys.Namespace}:{key}"))
        {
            return found;
        }

        throw new InvalidOperationException($"No entry '{key}' under prefix '{prefix}' in Redis.");
    }
}
