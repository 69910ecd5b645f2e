using BenchmarkDotNet.Attributes;

namespace CacheInvalidation.Benchmarks;

/// <summary>One caller, one read at a time: latency and allocations of a hit.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class HitLatency
{
    private Participants _p = null!;

    [GlobalSetup]
    public void Setup() => _p = Participants.CreateAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _p.Dispose();
        Participants.AssertOnlyHits();
    }

    [Benchmark(Baseline = true, Description = "raw StringGetAsync + deserialize")]
    public Task<Product?> RawGetDeserialize() => Reads.RawGetDeserialize(_p);

    [Benchmark(Description = "raw StringGetAsync (bytes only)")]
    public Task<int> RawGet() => Reads.RawGet(_p);

    [Benchmark(Description = "naive versioned read (2 round trips)")]
    public Task<Product?> NaiveVersionedRead() => Reads.NaiveVersionedRead(_p);

    [Benchmark(Description = "SmartCache GetOrSetAsync hit")]
    public async Task<Product> SmartCacheHit() => await Reads.SmartCacheHit(_p);

    [Benchmark(Description = "FusionCache memory hit")]
    public async Task<Product> FusionMemoryHit() => await Reads.FusionMemoryHit(_p);

    [Benchmark(Description = "FusionCache distributed-only hit")]
    public async Task<Product> FusionDistributedHit() => await Reads.FusionDistributedHit(_p);

    [Benchmark(Description = "HybridCache local hit")]
    public async Task<Product> HybridLocalHit() => await Reads.HybridLocalHit(_p);

    [Benchmark(Description = "HybridCache distributed hit")]
    public async Task<Product> HybridDistributedHit() => await Reads.HybridDistributedHit(_p);
}
