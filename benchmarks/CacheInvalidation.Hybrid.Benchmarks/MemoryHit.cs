using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CacheInvalidation.Hybrid.Benchmarks;

/// <summary>
/// A hit from memory through the adapter, per key shape, against the same hit through <see cref="ISmartCache"/> (the
/// baseline: what the adapter adds) and Microsoft's implementation's memory hit. Every read is checked to be a hit.
/// </summary>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class MemoryHit
{
    private static readonly HybridCacheEntryOptions Options = new() { Expiration = TimeSpan.FromHours(1) };
    private static readonly CacheEntryOptions CoreOptions = new() { Ttl = TimeSpan.FromHours(1) };
    private static readonly CacheKey CoreKey = HybridCacheKeys.ToCacheKey("product-42");
    private static readonly string[] Tags = ["product:42"];
    private static readonly Func<CancellationToken, ValueTask<string>> Factory = static _ => ValueTask.FromResult(Missed());
    private static int s_missed;

    private ServiceProvider _smart = null!;
    private ServiceProvider _microsoft = null!;
    private ISmartCache _core = null!;
    private HybridCache _adapter = null!;
    private HybridCache _reference = null!;

    [GlobalSetup]
    public void Setup()
    {
        string prefix = $"hyhit-{Guid.NewGuid():N}"[..14];
        _smart = Nodes.Smart(prefix);
        _microsoft = Nodes.Microsoft(prefix + "ms");
        _core = _smart.GetRequiredService<ISmartCache>();
        _adapter = _smart.GetRequiredService<HybridCache>();
        _reference = _microsoft.GetRequiredService<HybridCache>();
        foreach (Func<ValueTask<string>> read in new Func<ValueTask<string>>[] { CoreHit, SafeKey, AlteredKey, AlteredKeyWithTag, MicrosoftHit })
        {
            WarmAsync(read).GetAwaiter().GetResult();
        }

        s_missed = 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _smart.Dispose();
        _microsoft.Dispose();
        if (s_missed != 0)
        {
            throw new InvalidOperationException($"{s_missed} benchmarked reads called the factory: they were misses, not hits.");
        }
    }

    [Benchmark(Baseline = true, Description = "ISmartCache.GetOrSetAsync, local hit")]
    public ValueTask<string> CoreHit() => _core.GetOrSetAsync(CoreKey, Factory, CoreOptions);

    [Benchmark(Description = "AsHybridCache(), key stored as it is (product-42)")]
    public ValueTask<string> SafeKey() => _adapter.GetOrCreateAsync("product-42", Factory, Options);

    [Benchmark(Description = "AsHybridCache(), altered key (product:42)")]
    public ValueTask<string> AlteredKey() => _adapter.GetOrCreateAsync("product:42", Factory, Options);

    [Benchmark(Description = "AsHybridCache(), altered key and a tag")]
    public ValueTask<string> AlteredKeyWithTag() => _adapter.GetOrCreateAsync("product:42:tagged", Factory, Options, Tags);

    [Benchmark(Description = "Microsoft's AddHybridCache(), local hit")]
    public ValueTask<string> MicrosoftHit() => _reference.GetOrCreateAsync("product:42", Factory, Options);

    private static string Missed()
    {
        Interlocked.Increment(ref s_missed);
        return "value";
    }

    /// <summary>Reads until 10,000 reads in a row complete synchronously: served from memory.</summary>
    private static async Task WarmAsync(Func<ValueTask<string>> read)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        for (int synchronous = 0; synchronous < 10_000;)
        {
            ValueTask<string> pending = read();
            synchronous = pending.IsCompletedSuccessfully ? synchronous + 1 : 0;
            await pending;
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("A benchmarked entry was never served from memory.");
            }
        }
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(500)));
            AddColumn(BaselineRatioColumn.RatioMean, StatisticColumn.P95);
            AddExporter(MarkdownExporter.GitHub);
        }
    }
}
