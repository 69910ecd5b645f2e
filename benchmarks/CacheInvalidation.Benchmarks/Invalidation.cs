using BenchmarkDotNet.Attributes;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Benchmarks;

/// <summary>Cost of invalidating: a version bump (16 shards), and a set followed by a key invalidation, against raw SET + DEL.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class Invalidation
{
    private static readonly CacheKey Key = CacheKey.Entity("product", 2);
    private static readonly Product Payload = Product.Sample(2);
    private static readonly byte[] PayloadJson = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Payload, Participants.Json);
    private Participants _p = null!;

    [GlobalSetup]
    public void Setup() => _p = Participants.CreateAsync("bench-inv").GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _p.Dispose();
        Participants.AssertOnlyHits();
    }

    [Benchmark(Baseline = true, Description = "raw SET + DEL")]
    public async Task RawSetThenDelete()
    {
        await _p.Database.StringSetAsync("bench:raw:product:2", PayloadJson);
        await _p.Database.KeyDeleteAsync("bench:raw:product:2");
    }

    [Benchmark(Description = "raw SET")]
    public Task RawSet() => _p.Database.StringSetAsync("bench:raw:product:2", PayloadJson);

    [Benchmark(Description = "SmartCache SetAsync")]
    public ValueTask SmartSet() => _p.Smart.SetAsync(Key, Payload);

    [Benchmark(Description = "SmartCache SetAsync + InvalidateKeyAsync")]
    public async Task SmartSetThenInvalidateKey()
    {
        await _p.Smart.SetAsync(Key, Payload);
        await _p.Smart.InvalidateKeyAsync(Key);
    }

    [Benchmark(Description = "SmartCache InvalidateAllAsync (version bump, 16 shards)")]
    public async Task SmartInvalidateAll() => await _p.Smart.InvalidateAllAsync();
}
