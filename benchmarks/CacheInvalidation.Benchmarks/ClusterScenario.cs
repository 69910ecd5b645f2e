using System.Diagnostics;
using System.Globalization;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// The same operations on a single node and on a local 3-primary, 3-replica cluster, in one run: hit latency (and a
/// raw GET on the same topology), fan-out of a source with 10,000 dependents, and a 100,000-key namespace scan.
/// </summary>
public static class ClusterScenario
{
    private const int Hits = 5000;

    public static async Task<string> RunAsync()
    {
        string single = Participants.RedisUrl;
        string cluster = Environment.GetEnvironmentVariable("REDIS_CLUSTER_URL") is { Length: > 0 } url
            ? url
            : throw new InvalidOperationException("Set REDIS_CLUSTER_URL (benchmarks/run-cluster.sh starts a cluster and sets it).");

        var rows = new List<(string Name, double Single, double Cluster, string Unit)>();
        (double rawSingle, double hitSingle) = await HitsAsync(single);
        (double rawCluster, double hitCluster) = await HitsAsync(cluster);
        rows.Add(("raw StringGetAsync, mean of 5,000 sequential", rawSingle, rawCluster, "µs"));
        rows.Add(("SmartCache hit, mean of 5,000 sequential", hitSingle, hitCluster, "µs"));
        rows.Add(("InvalidateSourceAsync, 10,000 dependents", await SourceFanOutAsync(single), await SourceFanOutAsync(cluster), "ms"));
        rows.Add(("InvalidateNamespaceAsync, 100,000 keys", await NamespaceAsync(single), await NamespaceAsync(cluster), "ms"));
        rows.Add(("InvalidateAllAsync (16 shards), mean of 200", await BumpAsync(single), await BumpAsync(cluster), "µs"));

        var table = new System.Text.StringBuilder();
        table.AppendLine("## Single node vs 3-primary cluster");
        table.AppendLine();
        table.AppendLine("| operation | single node | cluster | cluster / single |");
        table.AppendLine("|---|---|---|---|");
        foreach ((string name, double s, double c, string unit) in rows)
        {
            table.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {s:F1} {unit} | {c:F1} {unit} | {c / s:F2} |");
        }

        return table.ToString();
    }

    private static SmartCache Cache(string url, string prefix) =>
        new(Options.Create(new SmartCacheOptions { Configuration = url, KeyPrefix = prefix + "-" + Guid.NewGuid().ToString("N")[..6] }));

    private static async Task<(double RawMicroseconds, double HitMicroseconds)> HitsAsync(string url)
    {
        await using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(url);
        IDatabase database = redis.GetDatabase();
        await database.StringSetAsync("bench:cluster:raw", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Product.Sample(1)));
        using SmartCache cache = Cache(url, "hits");
        CacheKey key = CacheKey.Entity("product", 1);
        await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(Product.Sample(1)));

        for (int i = 0; i < 500; i++)
        {
            await database.StringGetAsync("bench:cluster:raw");
            await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(Product.Sample(0)));
        }

        var raw = Stopwatch.StartNew();
        for (int i = 0; i < Hits; i++)
        {
            await database.StringGetAsync("bench:cluster:raw");
        }

        raw.Stop();
        var hit = Stopwatch.StartNew();
        for (int i = 0; i < Hits; i++)
        {
            await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(Product.Sample(0)));
        }

        hit.Stop();
        return (raw.Elapsed.TotalMicroseconds / Hits, hit.Elapsed.TotalMicroseconds / Hits);
    }

    private static async Task<double> SourceFanOutAsync(string url)
    {
        using SmartCache cache = Cache(url, "fanout");
        var options = new CacheEntryOptions { DependsOn = ["table:big"] };
        foreach (int[] chunk in Enumerable.Range(0, 10_000).Chunk(500))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("row", i), i, options).AsTask()));
        }

        var watch = Stopwatch.StartNew();
        long removed = await cache.InvalidateSourceAsync("table:big");
        watch.Stop();
        return removed == 10_000 ? watch.Elapsed.TotalMilliseconds : throw new InvalidOperationException($"removed {removed} of 10,000");
    }

    private static async Task<double> NamespaceAsync(string url)
    {
        using SmartCache cache = Cache(url, "ns");
        foreach (int[] chunk in Enumerable.Range(0, 100_000).Chunk(1000))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("bulk", i), i).AsTask()));
        }

        var watch = Stopwatch.StartNew();
        NamespaceInvalidationReport report = await cache.InvalidateNamespaceAsync("bulk", new NamespaceInvalidationOptions { BatchSize = 1000 });
        watch.Stop();
        return report.Deleted == 100_000 ? watch.Elapsed.TotalMilliseconds : throw new InvalidOperationException($"deleted {report.Deleted} of 100,000");
    }

    private static async Task<double> BumpAsync(string url)
    {
        using SmartCache cache = Cache(url, "bump");
        await cache.InvalidateAllAsync();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 200; i++)
        {
            await cache.InvalidateAllAsync();
        }

        watch.Stop();
        return watch.Elapsed.TotalMicroseconds / 200;
    }
}
