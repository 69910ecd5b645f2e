using BenchmarkDotNet.Attributes;

namespace CacheInvalidation.Benchmarks;

/// <summary>64 concurrent callers of one key, 50 reads each: Mean is per read, so lower is higher throughput.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class HitThroughput64
{
    private const int Callers = 64;
    private const int ReadsPerCaller = 50;
    private const int Operations = Callers * ReadsPerCaller;
    private Participants _p = null!;

    [GlobalSetup]
    public void Setup() => _p = Participants.CreateAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _p.Dispose();
        Participants.AssertOnlyHits();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "raw StringGetAsync + deserialize ×64")]
    public Task RawGetDeserialize() => Run(static p => Reads.RawGetDeserialize(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "raw StringGetAsync (bytes only) ×64")]
    public Task RawGet() => Run(static p => Reads.RawGet(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "naive versioned read ×64")]
    public Task NaiveVersionedRead() => Run(static p => Reads.NaiveVersionedRead(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "SmartCache hit ×64")]
    public Task SmartCacheHit() => Run(static async p => await Reads.SmartCacheHit(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "FusionCache memory hit ×64")]
    public Task FusionMemoryHit() => Run(static async p => await Reads.FusionMemoryHit(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "FusionCache distributed-only hit ×64")]
    public Task FusionDistributedHit() => Run(static async p => await Reads.FusionDistributedHit(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "FusionCache TryGetAsync distributed-only ×64")]
    public Task FusionDistributedTryGet() => Run(static p => Reads.FusionDistributedTryGet(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "HybridCache local hit ×64")]
    public Task HybridLocalHit() => Run(static async p => await Reads.HybridLocalHit(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "HybridCache distributed hit ×64")]
    public Task HybridDistributedHit() => Run(static async p => await Reads.HybridDistributedHit(p));

    private Task Run(Func<Participants, Task> read)
    {
        var callers = new Task[Callers];
        for (int c = 0; c < Callers; c++)
        {
            callers[c] = Task.Run(async () =>
            {
                for (int i = 0; i < ReadsPerCaller; i++)
                {
                    await read(_p);
                }
            });
        }

        return Task.WhenAll(callers);
    }
}
