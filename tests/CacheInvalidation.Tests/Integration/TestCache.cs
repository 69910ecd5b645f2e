using System.Net;
using System.Text.RegularExpressions;
using CacheInvalidation.Client;
using CacheInvalidation.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Integration;

/// <summary>
/// Caches on the test Redis, each under a fresh key prefix so tests never see each other's keys, and with
/// <see cref="Patient"/> store timeouts unless the test configures its own.
/// </summary>
internal static class TestCache
{
    /// <summary>
    /// Store timeouts no healthy Redis misses even on a loaded 2-core CI machine. The production defaults (50 ms reads,
    /// 250 ms writes) are soft fallbacks: past them a value is served uncached, which a test that counts factory calls or
    /// invalidated entries would read as a defect. Tests about outages opt back in with <see cref="ProductionTimeouts"/>.
    /// </summary>
    public static void Patient(SmartCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Resilience.ReadTimeout = TimeSpan.FromSeconds(5);
        options.Resilience.WriteTimeout = TimeSpan.FromSeconds(5);
    }

    /// <summary>The shipped soft timeouts, for tests whose subject is what a caller sees when Redis is slow or gone.</summary>
    public static void ProductionTimeouts(SmartCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var defaults = new CacheResilienceOptions();
        options.Resilience.ReadTimeout = defaults.ReadTimeout;
        options.Resilience.WriteTimeout = defaults.WriteTimeout;
    }

    public static SmartCache Create(RedisFixture redis, Action<SmartCacheOptions>? configure = null, IConnectionMultiplexer? connection = null, ILogger? logger = null)
    {
        var options = new SmartCacheOptions
        {
            Configuration = redis.ConnectionString,
            KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..12],
        };
        Patient(options);
        configure?.Invoke(options);
        return new SmartCache(options, Connection(connection ?? redis.Admin, options), ownsConnection: false, logger, timeProvider: null);
    }

    /// <summary>A cache whose store operations pass through <paramref name="hooks"/> first (see <see cref="StoreHooks"/>).</summary>
    public static SmartCache Create(IConnectionMultiplexer connection, StoreHooks hooks, Action<SmartCacheOptions>? configure = null, ILogger? logger = null, Func<IInvalidationFeed, IInvalidationFeed>? feed = null)
    {
        var options = new SmartCacheOptions { KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..12] };
        Patient(options);
        configure?.Invoke(options);
        feed ??= static f => f;
        RedisConnection redis = Connection(connection, options);
        CacheStores stores = CacheStores.ForRedis(redis, options.LeaseTime);
        var readStore = new HookedCacheStore(stores.ReadStore, hooks);
        var readIndexes = new HookedSourceIndexStore(stores.ReadIndexes, hooks);
        return new SmartCache(
            options,
            new CacheStores(readStore, readIndexes, new HookedCacheStore(stores.Store, hooks), new HookedSourceIndexStore(stores.Indexes, hooks), stores.Keyspace, feed(stores.Feed)),
            ownedConnection: null,
            logger,
            timeProvider: null,
            tenantAccessor: null);
    }

    /// <summary>A cache on any connection (a cluster's, say), under a fresh key prefix.</summary>
    public static SmartCache Create(IConnectionMultiplexer connection, Action<SmartCacheOptions>? configure = null)
    {
        var options = new SmartCacheOptions { KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..12] };
        Patient(options);
        configure?.Invoke(options);
        return new SmartCache(options, Connection(connection, options), ownsConnection: false, null, null);
    }

    /// <summary>The cache's connection with the resilience its options ask for.</summary>
    public static RedisConnection Connection(IConnectionMultiplexer connection, SmartCacheOptions options) =>
        RedisConnection.FromExisting(connection, new StoreResilience(options.Resilience));

    /// <summary>Every key under the cache's prefix on every primary of <paramref name="connection"/>.</summary>
    public static async Task<List<string>> KeysAsync(IConnectionMultiplexer connection, SmartCache cache)
    {
        var keys = new List<string>();
        foreach (EndPoint endpoint in connection.GetEndPoints())
        {
            IServer server = connection.GetServer(endpoint);
            if (server.IsConnected && !server.IsReplica)
            {
                await foreach (RedisKey key in server.KeysAsync(pattern: "{" + cache.Layout.Prefix + ":*"))
                {
                    keys.Add(key!);
                }
            }
        }

        return keys;
    }

    /// <summary>Every key under the cache's prefix, version keys included.</summary>
    public static async Task<List<string>> KeysAsync(RedisFixture redis, SmartCache cache)
    {
        string prefix = "{" + cache.Layout.Prefix + ":*";
        var keys = new HashSet<string>(StringComparer.Ordinal); // SCAN may return a key twice while Redis rehashes
        foreach (EndPoint endpoint in redis.Admin.GetEndPoints())
        {
            await foreach (RedisKey key in redis.Admin.GetServer(endpoint).KeysAsync(pattern: prefix))
            {
                keys.Add(key!);
            }
        }

        return keys.ToList();
    }

    /// <summary>The entry keys (<c>{prefix:tenant#shard}:…</c> with no '#' after the tag: not a version, lease or index) under the cache's prefix.</summary>
    public static async Task<List<string>> EntryKeysAsync(RedisFixture redis, SmartCache cache) =>
        (await KeysAsync(redis, cache)).Where(IsEntryKey).ToList();

    public static bool IsEntryKey(string key) => Regex.IsMatch(key, @"^\{[^#}]*#\d+\}:[^#]*$");

    /// <summary>Options that serve no stale values, so a key's server TTL is exactly its fresh TTL.</summary>
    public static void WithoutStaleBudget(SmartCacheOptions options)
    {
        options.Policies[global::CacheInvalidation.Policy.DataClass.Important] =
            global::CacheInvalidation.Policy.CachePolicy.Ttl(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1));
    }
}
