using BenchmarkDotNet.Attributes;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// 64 concurrent callers of one key held in process memory, 50 reads each (as <see cref="HitThroughput64"/>): Mean is
/// per read, so lower is higher throughput. Same participants as <see cref="LocalHit"/>.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class LocalHit64 : LocalHitParticipants
{
    private const int Callers = 64;
    private const int ReadsPerCaller = 50;
    private const int Operations = Callers * ReadsPerCaller;

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "SmartCache local hit ×64")]
    public Task SmartCacheLocalHit() => Run(static (p, _) => Reads.SmartCacheHit(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "FusionCache memory hit ×64")]
    public Task FusionMemoryHit() => Run(static (p, _) => Reads.FusionMemoryHit(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "HybridCache local hit ×64")]
    public Task HybridLocalHit() => Run(static (p, _) => Reads.HybridLocalHit(p));

    [Benchmark(OperationsPerInvoke = Operations, Description = "SmartCache Redis hit (local tier off) ×64")]
    public Task SmartCacheRedisHit() => Run(static (_, redisOnly) => Reads.SmartCacheHit(redisOnly));

    private Task Run(Func<Participants, SmartCache, ValueTask<Product>> read)
    {
        var callers = new Task[Callers];
        for (int c = 0; c < Callers; c++)
        {
            callers[c] = Task.Run(async () =>
            {
                for (int i = 0; i < ReadsPerCaller; i++)
                {
                    await read(P, RedisOnly);
                }
            });
        }

        return Task.WhenAll(callers);
    }
}
