using System.Text.Json;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CacheInvalidation.Benchmarks;

/// <summary>Everything the benchmarks compare, on the same Redis, with the same payload already cached.</summary>
public sealed class Participants : IDisposable
{
    public const string RawKey = "bench:raw:product:1";
    public const string VersionKey = "bench:naive:version";
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    public static readonly CacheKey SmartKey = CacheKey.Entity("product", 1);
    public static readonly HybridCacheEntryOptions HybridDistributedOnly = new() { Flags = HybridCacheEntryFlags.DisableLocalCacheRead };
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static int s_factoryCalls;

    private ServiceProvider? _hybridServices;

    public required ConnectionMultiplexer Redis { get; init; }

    public required IDatabase Database { get; init; }

    public required SmartCache Smart { get; init; }

    public required FusionCache Fusion { get; init; }

    public required FusionCacheEntryOptions FusionDistributedOnly { get; init; }

    public required HybridCache Hybrid { get; init; }

    /// <summary>How many namespaces <see cref="FillScopesAsync"/> writes an entry in (each one or more version scopes).</summary>
    public const int ManyScopes = 100_000;

    /// <summary>The key of the entry in namespace <c>scope-N</c> (N modulo <see cref="ManyScopes"/>).</summary>
    public static CacheKey ScopeKey(int n) => CacheKey.Create($"scope-{n % ManyScopes}", "product");

    /// <summary>Writes one entry in each of <see cref="ManyScopes"/> namespaces and reads each once, so that many scopes are in use.</summary>
    public async Task FillScopesAsync()
    {
        Product product = Product.Sample(1);
        foreach (int[] chunk in Enumerable.Range(0, ManyScopes).Chunk(5_000))
        {
            await Task.WhenAll(chunk.Select(i => Smart.SetAsync(ScopeKey(i), product).AsTask()));
            await Task.WhenAll(chunk.Select(i => Smart.GetAsync<Product>(ScopeKey(i)).AsTask()));
        }
    }

    /// <summary>The prefix of every key this process wrote (a fresh one per process).</summary>
    public required string Prefix { get; init; }

    /// <summary>Factory calls of the benchmarked reads: any call means a read missed, so the run is void.</summary>
    public static int FactoryCalls => Volatile.Read(ref s_factoryCalls);

    /// <summary>What the benchmarked reads pass as their factory: counts the call (a miss) and returns a value.</summary>
    public static T Missed<T>(T value)
    {
        Interlocked.Increment(ref s_factoryCalls);
        return value;
    }

    /// <summary>Called in GlobalCleanup: fails the benchmark if any of its reads was not a hit.</summary>
    public static void AssertOnlyHits()
    {
        if (FactoryCalls != 0)
        {
            throw new InvalidOperationException($"{FactoryCalls} benchmarked reads called the factory: they were misses, not hits.");
        }
    }

    public static string RedisUrl =>
        Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } url
            ? url
            : throw new InvalidOperationException("Set REDIS_URL (benchmarks/run.sh starts a private redis-server and sets it).");

    /// <summary>
    /// Connects every participant under a fresh prefix and seeds the payload. SmartCache's local tier is off unless
    /// <paramref name="localTier"/>: the hit benchmarks and the probe compare Redis hits (its local hits are
    /// <see cref="LocalHit"/>'s subject).
    /// </summary>
    public static async Task<Participants> CreateAsync(string name = "bench", bool localTier = false)
    {
        // BenchmarkDotNet runs each benchmark in its own process against the same Redis: a fresh prefix per process
        // keeps the check below honest (every participant loads once here, then only hits).
        string prefix = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
        ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(RedisUrl + ",allowAdmin=true");
        var smart = new SmartCache(Options.Create(new SmartCacheOptions { Configuration = RedisUrl, KeyPrefix = prefix, LocalCache = { Enabled = localTier } }));

        var fusion = new FusionCache(new FusionCacheOptions { CacheName = prefix, DefaultEntryOptions = new FusionCacheEntryOptions { Duration = Hour } });
        fusion.SetupDistributedCache(
            new RedisCache(Options.Create(new RedisCacheOptions { Configuration = RedisUrl, InstanceName = prefix + ":fusion:" })),
            new JsonFusionSerializer());

        var services = new ServiceCollection();
        services.AddStackExchangeRedisCache(o => { o.Configuration = RedisUrl; o.InstanceName = prefix + ":hybrid:"; });
        services.AddHybridCache(o => o.DefaultEntryOptions = new HybridCacheEntryOptions { Expiration = Hour, LocalCacheExpiration = Hour });
        ServiceProvider hybridServices = services.BuildServiceProvider();

        var participants = new Participants
        {
            Redis = redis,
            Database = redis.GetDatabase(),
            Smart = smart,
            Fusion = fusion,
            FusionDistributedOnly = new FusionCacheEntryOptions { Duration = Hour, SkipMemoryCacheRead = true },
            Hybrid = hybridServices.GetRequiredService<HybridCache>(),
            Prefix = prefix,
        };
        participants._hybridServices = hybridServices;
        await participants.SeedAsync();
        return participants;
    }

    /// <summary>Caches the payload in every participant and checks that each one then really hits.</summary>
    private async Task SeedAsync()
    {
        Product product = Product.Sample(1);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(product, Json);
        await Database.StringSetAsync(RawKey, json);
        await Database.StringSetAsync(VersionKey, 1);
        await Database.StringSetAsync("bench:naive:v1:product:1", json);

        int factoryCalls = 0;
        ValueTask<Product> Load(CancellationToken _) { factoryCalls++; return ValueTask.FromResult(product); }
        for (int round = 0; round < 2; round++)
        {
            await Smart.GetOrSetAsync(SmartKey, Load, new CacheEntryOptions { Ttl = Hour });
            await Fusion.GetOrSetAsync<Product>("product:1", (_, ct) => Load(ct).AsTask());
            await Hybrid.GetOrCreateAsync("product:1", Load);
        }

        if (factoryCalls != 3)
        {
            throw new InvalidOperationException($"Every participant should load once and then hit; the factory ran {factoryCalls} times.");
        }

        // The distributed-only paths must find the value in Redis, not call the factory.
        await Fusion.GetOrSetAsync<Product>("product:1", (_, ct) => Load(ct).AsTask(), FusionDistributedOnly);
        await Hybrid.GetOrCreateAsync("product:1", Load, HybridDistributedOnly);
        if (factoryCalls != 3)
        {
            throw new InvalidOperationException("A distributed-only read called the factory: the value was not in Redis.");
        }

        // ...and it must really be Redis that served them: with a probe key's Redis copy deleted behind their backs
        // (memory copies untouched), each of these reads has to miss.
        var probe = CacheKey.Entity("product", "probe");
        await Smart.SetAsync(probe, product, new CacheEntryOptions { Ttl = Hour });
        await Fusion.SetAsync("product:probe", product);
        await Hybrid.SetAsync("product:probe", product);
        await Fusion.GetOrSetAsync<Product>("product:probe", (_, ct) => Load(ct).AsTask(), FusionDistributedOnly);
        await Hybrid.GetOrCreateAsync("product:probe", Load, HybridDistributedOnly);
        if (factoryCalls != 3)
        {
            throw new InvalidOperationException("A distributed-only read of the probe key missed before its Redis copy was deleted.");
        }

        int deleted = 0;
        await foreach (RedisKey key in Redis.GetServer(Redis.GetEndPoints()[0]).KeysAsync(pattern: $"*{Prefix}*probe*"))
        {
            deleted += await Database.KeyDeleteAsync(key) ? 1 : 0;
        }

        await Smart.GetOrSetAsync(probe, Load);
        await Fusion.GetOrSetAsync<Product>("product:probe", (_, ct) => Load(ct).AsTask(), FusionDistributedOnly);
        await Hybrid.GetOrCreateAsync("product:probe", Load, HybridDistributedOnly);
        if (deleted < 3 || factoryCalls != 6)
        {
            throw new InvalidOperationException(
                $"Deleted {deleted} Redis keys of the probe, then {factoryCalls - 3} of 3 distributed reads missed: some read did not come from Redis.");
        }
    }

    public void Dispose()
    {
        Smart.Dispose();
        Fusion.Dispose();
        _hybridServices?.Dispose();
        Redis.Dispose();
    }
}
