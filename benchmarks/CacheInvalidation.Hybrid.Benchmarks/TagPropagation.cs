using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CacheInvalidation.Hybrid.Benchmarks;

/// <summary>
/// How soon <c>RemoveByTagAsync</c> on node A stops node B serving, from its memory, an entry with that tag — through the
/// <see cref="HybridCache"/> API only, two service providers on one Redis. Each iteration: B loads the entry and holds
/// it in memory (shown by deleting its Redis copy behind B's back and B still returning it without a factory call), the
/// clock starts, A's call is started (not awaited), and B polls with <see cref="HybridCacheEntryFlags.DisableUnderlyingData"/>
/// (memory first, then Redis) until the entry is gone; the clock stops there. The same is tried on Microsoft's
/// implementation, where B is expected to keep its copy.
/// </summary>
internal static class TagPropagation
{
    private const int Iterations = 1_000;
    private const int WarmUpIterations = 500; // past tiered JIT recompiling the paths, which otherwise lands in the tail
    private const int MicrosoftTries = 20;
    private const string Key = "view-1";
    private const string Tag = "product:1";
    private static readonly TimeSpan MicrosoftWait = TimeSpan.FromSeconds(1);
    private static readonly HybridCacheEntryOptions CacheOnly = new() { Flags = HybridCacheEntryFlags.DisableUnderlyingData };

    public static async Task<string> RunAsync()
    {
        string prefix = $"hyprop-{Guid.NewGuid():N}"[..15];
        await using ServiceProvider nodeA = Nodes.Smart(prefix);
        await using ServiceProvider nodeB = Nodes.Smart(prefix);
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(Nodes.RedisUrl + ",allowAdmin=true");
        HybridCache a = nodeA.GetRequiredService<HybridCache>();
        HybridCache b = nodeB.GetRequiredService<HybridCache>();
        await b.GetOrCreateAsync(Key, _ => ValueTask.FromResult(0), tags: [Tag]);
        RedisKey entryKey = await Nodes.EntryKeyAsync(admin, prefix, Key);
        await b.RemoveAsync(Key); // each iteration loads its own value

        var latencies = new List<double>(Iterations);
        var calls = new List<double>(Iterations);
        int seenFirst = 0;
        for (int i = 0; i < WarmUpIterations + Iterations; i++)
        {
            int value = i + 1;
            await HoldInMemoryAsync(b, admin.GetDatabase(), entryKey, value);

            long start = Stopwatch.GetTimestamp();
            Task<long> removal = TimedAsync(a, Tag);
            var spin = new SpinWait();
            while (await b.GetOrCreateAsync(Key, _ => ValueTask.FromResult(-1), CacheOnly) == value)
            {
                spin.SpinOnce(sleep1Threshold: -1); // yields, never sleeps 1 ms
            }

            long seenAt = Stopwatch.GetTimestamp();
            long returnedAt = await removal;
            if (i >= WarmUpIterations)
            {
                latencies.Add(Stopwatch.GetElapsedTime(start, seenAt).TotalMilliseconds);
                calls.Add(Stopwatch.GetElapsedTime(start, returnedAt).TotalMilliseconds);
                seenFirst += seenAt < returnedAt ? 1 : 0;
            }
        }

        latencies.Sort();
        calls.Sort();
        int microsoftKept = await MicrosoftKeepsAsync();
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"### `RemoveByTagAsync` on node A → node B stops serving the tagged entry from memory ({Iterations:N0} iterations after {WarmUpIterations} unrecorded)");
        report.AppendLine();
        report.AppendLine("| HybridCache | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | A's call p50 (ms) | A's call p99 (ms) | B saw it before A's call returned |");
        report.AppendLine("|---|---|---|---|---|---|---|---|");
        report.AppendLine(CultureInfo.InvariantCulture, $"| `AddSmartCache(...).AsHybridCache()` | {P(latencies, 0.50):0.000} | {P(latencies, 0.90):0.000} | {P(latencies, 0.99):0.000} | {latencies[^1]:0.000} | {P(calls, 0.50):0.000} | {P(calls, 0.99):0.000} | {100.0 * seenFirst / Iterations:0}% |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| Microsoft's `AddHybridCache()` + Redis | B still served the removed entry {MicrosoftWait.TotalSeconds:0} s later in {microsoftKept} of {MicrosoftTries} tries | | | | | | |");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Latency: from just before A's call starts to B's first read that no longer returns the entry. Environment.ProcessorCount = {Environment.ProcessorCount}.");
        return report.ToString();
    }

    /// <summary>B reads the entry (loading <paramref name="value"/>) until a read is served from its memory: with the Redis copy deleted, a read that still returns the value without calling the factory.</summary>
    private static async Task HoldInMemoryAsync(HybridCache b, IDatabase redis, RedisKey entryKey, int value)
    {
        long deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while (true)
        {
            await b.GetOrCreateAsync(Key, value, static (v, _) => ValueTask.FromResult(v), tags: [Tag]);
            await redis.KeyDeleteAsync(entryKey);
            bool called = false;
            int served = await b.GetOrCreateAsync(Key, _ => { called = true; return ValueTask.FromResult(value); }, tags: [Tag]);
            if (!called && served == value)
            {
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"Node B never served the entry holding {value} from memory.");
            }
        }
    }

    /// <summary>The same removal on Microsoft's implementation: in how many tries B still serves its copy after a while.</summary>
    private static async Task<int> MicrosoftKeepsAsync()
    {
        string prefix = $"hyms-{Guid.NewGuid():N}"[..13];
        await using ServiceProvider nodeA = Nodes.Microsoft(prefix);
        await using ServiceProvider nodeB = Nodes.Microsoft(prefix);
        HybridCache a = nodeA.GetRequiredService<HybridCache>();
        HybridCache b = nodeB.GetRequiredService<HybridCache>();
        int kept = 0;
        for (int i = 0; i < MicrosoftTries; i++)
        {
            string key = $"view-{i}";
            string tag = $"product:{i}";
            await b.GetOrCreateAsync(key, _ => ValueTask.FromResult(1), tags: [tag]);
            await b.GetOrCreateAsync(key, _ => ValueTask.FromResult(-1), tags: [tag]); // an L1 hit

            await a.RemoveByTagAsync(tag);
            long until = Stopwatch.GetTimestamp() + (long)(MicrosoftWait.TotalSeconds * Stopwatch.Frequency);
            bool gone = false;
            while (!gone && Stopwatch.GetTimestamp() < until)
            {
                gone = await b.GetOrCreateAsync(key, _ => ValueTask.FromResult(0), CacheOnly) != 1;
                await Task.Delay(10);
            }

            kept += gone ? 0 : 1;
        }

        return kept;
    }

    private static async Task<long> TimedAsync(HybridCache node, string tag)
    {
        await node.RemoveByTagAsync(tag);
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double P(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
