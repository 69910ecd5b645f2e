using System.Diagnostics;
using System.Globalization;
using System.Text;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// How soon an invalidation made on one node stops another node serving the entry from its local tier. Two SmartCache
/// instances (node A and node B, a connection each, the same key prefix) on the private Redis. Each iteration: B reads
/// the entry until a read is served from its memory (checked on the <c>cacheinvalidation.requests</c> counter), then the clock
/// starts, A's invalidation call is started (not awaited), and B polls <c>GetAsync</c> — local tier first — until it
/// returns not-found or another value; the clock stops there. Latency is the clock's reading; A's own call time is shown
/// beside it.
/// </summary>
public static class PropagationScenario
{
    private const int Iterations = 1_000;
    private const int WarmUpIterations = 500; // past tiered JIT's recompilation of the paths involved, which otherwise lands in the first case's tail
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private sealed record Case(string Name, CacheKey Key, CacheEntryOptions Options, Func<SmartCache, ValueTask> Invalidate);

    public static async Task<string> RunAsync()
    {
        string prefix = $"prop-{Guid.NewGuid():N}"[..13];
        using var a = new SmartCache(Options.Create(new SmartCacheOptions { Configuration = Participants.RedisUrl, KeyPrefix = prefix }));
        using var b = new SmartCache(Options.Create(new SmartCacheOptions { Configuration = Participants.RedisUrl, KeyPrefix = prefix }));
        using var probe = new LocalProbe();

        Case[] cases =
        [
            new("`InvalidateKeyAsync(key)`", CacheKey.Entity("order", 1), new CacheEntryOptions { Ttl = Hour },
                static async node => await node.InvalidateKeyAsync(CacheKey.Entity("order", 1))),
            new("`InvalidateSourceAsync(source)` (entry with `DependsOn`)", CacheKey.Entity("line", 1), new CacheEntryOptions { Ttl = Hour, DependsOn = ["supplier:1"] },
                static async node => await node.InvalidateSourceAsync("supplier:1")),
            new("`InvalidateNamespaceVersionAsync(namespace)`", CacheKey.Entity("catalog", 1), new CacheEntryOptions { Ttl = Hour },
                static node => node.InvalidateNamespaceVersionAsync("catalog")),
        ];

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"### Invalidation on node A → node B stops serving the entry from memory ({Iterations:N0} iterations each)");
        report.AppendLine();
        report.AppendLine("| invalidation on A | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | A's call p50 (ms) | A's call p99 (ms) | B saw it before A's call returned | slow re-warms (> 2 reads) |");
        report.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (Case c in cases)
        {
            report.AppendLine(await MeasureAsync(c, a, b, probe));
        }

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Latency: from just before A's call starts to B's first poll returning not-found or a new value (after {WarmUpIterations} unrecorded iterations); A's call: from the same instant to its completion. A slow re-warm: B needed more than the loading read and one local read to hold the next value in memory. Environment.ProcessorCount = {Environment.ProcessorCount}.");
        return report.ToString();
    }

    private static async Task<string> MeasureAsync(Case c, SmartCache a, SmartCache b, LocalProbe probe)
    {
        var latencies = new List<double>(Iterations);
        var calls = new List<double>(Iterations);
        int slowWarms = 0;
        int seenFirst = 0;
        for (int i = 0; i < WarmUpIterations + Iterations; i++)
        {
            int id = i;
            Func<CancellationToken, ValueTask<Product>> load = _ => ValueTask.FromResult(Product.Sample(id));

            // B holds the entry (value id) in memory: read through until a read is served locally.
            int reads = 0;
            bool local = await probe.UntilLocalAsync(
                async () =>
                {
                    reads++;
                    Product value = await b.GetOrSetAsync(c.Key, load, c.Options);
                    if (value.Id != id)
                    {
                        throw new InvalidOperationException($"{c.Name}: B read value {value.Id} after the invalidation, expected {id}.");
                    }
                },
                TimeSpan.FromSeconds(10));
            if (!local)
            {
                throw new InvalidOperationException($"{c.Name}: node B never served the entry from memory (iteration {i}).");
            }

            slowWarms += reads > 2 && i >= WarmUpIterations ? 1 : 0;

            long start = Stopwatch.GetTimestamp();
            Task<long> invalidation = TimedAsync(c.Invalidate, a);
            var spin = new SpinWait();
            while (true)
            {
                CacheResult<Product> seen = await b.GetAsync<Product>(c.Key);
                if (!seen.Found || seen.Value.Id != id)
                {
                    break;
                }

                spin.SpinOnce(sleep1Threshold: -1); // yields, never sleeps 1 ms
            }

            long seenAt = Stopwatch.GetTimestamp();
            long returnedAt = await invalidation;
            if (i >= WarmUpIterations)
            {
                latencies.Add(Stopwatch.GetElapsedTime(start, seenAt).TotalMilliseconds);
                calls.Add(Stopwatch.GetElapsedTime(start, returnedAt).TotalMilliseconds);
                seenFirst += seenAt < returnedAt ? 1 : 0;
            }
        }

        latencies.Sort();
        calls.Sort();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"| {c.Name} | {Percentile(latencies, 0.50):0.000} | {Percentile(latencies, 0.90):0.000} | {Percentile(latencies, 0.99):0.000} | {latencies[^1]:0.000} | {Percentile(calls, 0.50):0.000} | {Percentile(calls, 0.99):0.000} | {100.0 * seenFirst / Iterations:0}% | {slowWarms} |");
    }

    /// <summary>Runs A's invalidation and returns when it completed (timestamp), so that its duration is known apart from B's polling.</summary>
    private static async Task<long> TimedAsync(Func<SmartCache, ValueTask> invalidate, SmartCache node)
    {
        await invalidate(node);
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
