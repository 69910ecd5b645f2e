using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// One caller, one read at a time, of an entry held in process memory: SmartCache's local tier against the memory tiers
/// of FusionCache and HybridCache, and SmartCache with the local tier off (a Redis hit) for reference. The benchmark
/// methods return the libraries' ValueTask as is (no async wrapper, which would allocate a Task per call).
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class LocalHit : LocalHitParticipants
{

    [Benchmark(Baseline = true, Description = "SmartCache local hit")]
    public ValueTask<Product> SmartCacheLocalHit() => Reads.SmartCacheHit(P);

    [Benchmark(Description = "FusionCache memory hit")]
    public ValueTask<Product> FusionMemoryHit() => Reads.FusionMemoryHit(P);

    [Benchmark(Description = "HybridCache local hit")]
    public ValueTask<Product> HybridLocalHit() => Reads.HybridLocalHit(P);

    [Benchmark(Description = "SmartCache Redis hit (local tier off)")]
    public ValueTask<Product> SmartCacheRedisHit() => Reads.SmartCacheHit(RedisOnly);
}

/// <summary>
/// The participants of <see cref="LocalHit"/> and <see cref="LocalHit64"/>: <see cref="Participants"/> with SmartCache's
/// local tier on (the library's default) plus a SmartCache on the same prefix with the local tier off, each checked to
/// take the path it stands for.
/// </summary>
/// <summary>The participants of the local-hit benchmarks, set up (and checked to take the local path) once per run.</summary>
public abstract class LocalHitParticipants
{
    protected Participants P { get; private set; } = null!;

    protected SmartCache RedisOnly { get; private set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        (P, RedisOnly) = LocalSetup.CreateAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        RedisOnly.Dispose();
        P.Dispose();
        Participants.AssertOnlyHits();
    }
}

public static class LocalSetup
{
    private const int Checks = 1_000;

    public static async Task<(Participants Participants, SmartCache RedisOnly)> CreateAsync()
    {
        Participants p = await Participants.CreateAsync("local", localTier: true);
        var redisOnly = new SmartCache(Options.Create(new SmartCacheOptions
        {
            Configuration = Participants.RedisUrl,
            KeyPrefix = p.Prefix,
            LocalCache = { Enabled = false },
        }));

        using (var probe = new LocalProbe())
        {
            // Served from memory once the node has confirmed its shards (right after the tenant's first use) and the
            // entry was inserted by a Redis read.
            if (!await probe.UntilLocalAsync(async () => await Reads.SmartCacheHit(p), TimeSpan.FromSeconds(10)))
            {
                throw new InvalidOperationException("SmartCache with the local tier on never served the entry from memory.");
            }

            long local = probe.Local, other = probe.Other;
            for (int i = 0; i < Checks; i++)
            {
                await Reads.SmartCacheHit(p);
            }

            if (probe.Local - local != Checks || probe.Other != other)
            {
                throw new InvalidOperationException($"Of {Checks} warm reads, {probe.Local - local} were served from memory: the local path is not the one measured.");
            }

            for (int i = 0; i < Checks; i++)
            {
                await Reads.SmartCacheHit(redisOnly);
            }

            if (probe.Local - local != Checks || probe.Other - other != Checks)
            {
                throw new InvalidOperationException("SmartCache with the local tier off served a read from memory.");
            }
        }

        if (Participants.FactoryCalls != 0)
        {
            throw new InvalidOperationException($"{Participants.FactoryCalls} warm reads called the factory.");
        }

        return (p, redisOnly);
    }
}
