using System.Text.Json;
using Microsoft.Extensions.Caching.Hybrid;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CacheInvalidation.Benchmarks;

/// <summary>The read paths compared: one operation each, on an entry already cached everywhere.</summary>
public static class Reads
{
    private static readonly Product Unused = Product.Sample(0);
    // Every factory counts its calls: GlobalCleanup fails the benchmark if any read was a miss.
    private static readonly Func<CancellationToken, ValueTask<Product>> SmartFactory = static _ => ValueTask.FromResult(Participants.Missed(Unused));
    private static readonly Func<CancellationToken, ValueTask<Product>> HybridFactory = static _ => ValueTask.FromResult(Participants.Missed(Unused));
    private static readonly Func<FusionCacheFactoryExecutionContext<Product>, CancellationToken, Task<Product>> FusionFactory =
        static (_, _) => Task.FromResult(Participants.Missed(Unused));

    public static async Task<Product?> RawGetDeserialize(Participants p)
    {
        RedisValue value = await p.Database.StringGetAsync(Participants.RawKey);
        return JsonSerializer.Deserialize<Product>((byte[])value!, Participants.Json);
    }

    public static async Task<int> RawGet(Participants p)
    {
        RedisValue value = await p.Database.StringGetAsync(Participants.RawKey);
        return ((byte[])value!).Length;
    }

    /// <summary>The naive versioned read: GET the version, then GET the data under it (two round trips).</summary>
    public static async Task<Product?> NaiveVersionedRead(Participants p)
    {
        RedisValue version = await p.Database.StringGetAsync(Participants.VersionKey);
        RedisValue value = await p.Database.StringGetAsync($"bench:naive:v{(long)version}:product:1");
        return JsonSerializer.Deserialize<Product>((byte[])value!, Participants.Json);
    }

    public static ValueTask<Product> SmartCacheHit(Participants p) => p.Smart.GetOrSetAsync(Participants.SmartKey, SmartFactory);

    /// <summary>The same hit through another SmartCache on the same prefix (e.g. one with the local tier off).</summary>
    public static ValueTask<Product> SmartCacheHit(SmartCache cache) => cache.GetOrSetAsync(Participants.SmartKey, SmartFactory);

    private static int s_scope;

    /// <summary>A hit on a different (namespace, shard) scope each time, among <see cref="Participants.ManyScopes"/> in use.</summary>
    public static ValueTask<Product> SmartCacheHitAcrossScopes(Participants p) =>
        p.Smart.GetOrSetAsync(Participants.ScopeKey(Interlocked.Increment(ref s_scope)), SmartFactory);

    public static ValueTask<Product> FusionMemoryHit(Participants p) => p.Fusion.GetOrSetAsync<Product>("product:1", FusionFactory);

    public static ValueTask<Product> FusionDistributedHit(Participants p) =>
        p.Fusion.GetOrSetAsync<Product>("product:1", FusionFactory, p.FusionDistributedOnly);

    /// <summary>FusionCache's plain read, without GetOrSet's per-key lock (for reference under concurrency).</summary>
    public static async Task<Product> FusionDistributedTryGet(Participants p)
    {
        MaybeValue<Product> value = await p.Fusion.TryGetAsync<Product>("product:1", p.FusionDistributedOnly);
        return value.HasValue ? value.Value : Participants.Missed(Unused);
    }

    public static ValueTask<Product> HybridLocalHit(Participants p) => p.Hybrid.GetOrCreateAsync("product:1", HybridFactory);

    public static ValueTask<Product> HybridDistributedHit(Participants p) =>
        p.Hybrid.GetOrCreateAsync("product:1", HybridFactory, Participants.HybridDistributedOnly);
}
