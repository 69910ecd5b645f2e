using System.Diagnostics;
using System.Globalization;
using System.Text;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// Whole scenarios that BenchmarkDotNet's per-operation model does not fit: a 1,000-caller stampede on two nodes
/// (factory calls and wall time), and fan-out invalidation of 10,000 dependents and of a 100,000-key namespace
/// (keys/s and the longest single Redis command, from SLOWLOG).
/// </summary>
public static class Scenarios
{
    private const int Callers = 1000;
    private const int Rounds = 5;
    private static readonly TimeSpan FactoryTime = TimeSpan.FromMilliseconds(50);

    public static async Task<string> RunAsync()
    {
        var report = new StringBuilder();
        report.AppendLine("### Stampede: 1,000 concurrent callers of one cold key on two nodes, 50 ms factory");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Mean of {Rounds} rounds (a new key each round, connections warmed up first). Each library runs as two instances with their own connections, 500 callers each.");
        report.AppendLine();
        report.AppendLine("| library | factory calls per stampede | wall time (ms) |");
        report.AppendLine("|---|---|---|");
        report.AppendLine(await StampedeAsync("SmartCache", SmartNodes));
        report.AppendLine(await StampedeAsync("FusionCache (memory + Redis distributed, no backplane)", FusionNodes));
        report.AppendLine(await StampedeAsync("HybridCache (local + Redis IDistributedCache)", HybridNodes));
        report.AppendLine();
        report.AppendLine("### Fan-out invalidation");
        report.AppendLine();
        report.AppendLine("| operation | keys deleted | wall time (ms) | keys/s | longest single Redis command |");
        report.AppendLine("|---|---|---|---|---|");
        report.AppendLine(await SourceFanOutAsync());
        report.AppendLine(await NamespaceScanAsync());
        return report.ToString();
    }

    private static async Task<string> StampedeAsync(string name, Func<string, Task<(Func<string, Func<Task<Product>>, Task<Product>>[] Nodes, IDisposable Owner)>> create)
    {
        double wallTotal = 0;
        int callsTotal = 0;
        for (int round = 0; round < Rounds; round++)
        {
            string prefix = $"stampede-{Guid.NewGuid():N}"[..20];
            (var nodes, IDisposable owner) = await create(prefix);
            using (owner)
            {
                // Connections and scripts are set up before the clock starts, for every library alike.
                foreach (var node in nodes)
                {
                    await node("warm-up", () => Task.FromResult(Product.Sample(0)));
                }

                int calls = 0;
                async Task<Product> Factory()
                {
                    Interlocked.Increment(ref calls);
                    await Task.Delay(FactoryTime);
                    return Product.Sample(round);
                }

                using var gate = new ManualResetEventSlim();
                Task<Product>[] callers = Enumerable.Range(0, Callers).Select(i => Task.Run(() =>
                {
                    gate.Wait();
                    return nodes[i % nodes.Length]("product:1", Factory);
                })).ToArray();
                var wall = Stopwatch.StartNew();
                gate.Set();
                await Task.WhenAll(callers);
                wallTotal += wall.Elapsed.TotalMilliseconds;
                callsTotal += calls;
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"| {name} | {(double)callsTotal / Rounds:F1} | {wallTotal / Rounds:F0} |");
    }

    private static Task<(Func<string, Func<Task<Product>>, Task<Product>>[], IDisposable)> SmartNodes(string prefix)
    {
        var nodes = Enumerable.Range(0, 2)
            .Select(_ => new SmartCache(Options.Create(new SmartCacheOptions { Configuration = Participants.RedisUrl, KeyPrefix = prefix })))
            .ToArray();
        var readers = nodes.Select(n => (Func<string, Func<Task<Product>>, Task<Product>>)((key, factory) =>
            n.GetOrSetAsync(CacheKey.Create("stampede", key.Replace(':', '-')), async _ => await factory()).AsTask())).ToArray();
        return Task.FromResult((readers, (IDisposable)new Disposables(nodes)));
    }

    private static Task<(Func<string, Func<Task<Product>>, Task<Product>>[], IDisposable)> FusionNodes(string prefix)
    {
        var nodes = Enumerable.Range(0, 2).Select(_ =>
        {
            var fusion = new FusionCache(new FusionCacheOptions { CacheName = prefix });
            fusion.SetupDistributedCache(
                new RedisCache(Options.Create(new RedisCacheOptions { Configuration = Participants.RedisUrl, InstanceName = prefix + ":" })),
                new JsonFusionSerializer());
            return fusion;
        }).ToArray();
        var readers = nodes.Select(n => (Func<string, Func<Task<Product>>, Task<Product>>)(async (key, factory) =>
            await n.GetOrSetAsync<Product>(key, async (_, _) => await factory()))).ToArray();
        return Task.FromResult((readers, (IDisposable)new Disposables(nodes)));
    }

    private static Task<(Func<string, Func<Task<Product>>, Task<Product>>[], IDisposable)> HybridNodes(string prefix)
    {
        var providers = Enumerable.Range(0, 2).Select(_ =>
        {
            var services = new ServiceCollection();
            services.AddStackExchangeRedisCache(o => { o.Configuration = Participants.RedisUrl; o.InstanceName = prefix + ":"; });
            services.AddHybridCache();
            return services.BuildServiceProvider();
        }).ToArray();
        var readers = providers.Select(sp => sp.GetRequiredService<HybridCache>()).Select(h => (Func<string, Func<Task<Product>>, Task<Product>>)(async (key, factory) =>
            await h.GetOrCreateAsync(key, async _ => await factory()))).ToArray();
        return Task.FromResult((readers, (IDisposable)new Disposables(providers)));
    }

    private static async Task<string> SourceFanOutAsync()
    {
        using var cache = new SmartCache(Options.Create(new SmartCacheOptions { Configuration = Participants.RedisUrl, KeyPrefix = "fanout" }));
        const int dependents = 10_000;
        var options = new CacheEntryOptions { DependsOn = ["table:big"] };
        foreach (int[] chunk in Enumerable.Range(0, dependents).Chunk(500))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("row", i), Product.Sample(i), options).AsTask()));
        }

        (long deleted, TimeSpan wall, string longest) = await WithSlowlogAsync(async () => await cache.InvalidateSourceAsync("table:big"));
        return Row("InvalidateSourceAsync, 10,000 dependents", deleted, wall, longest);
    }

    private static async Task<string> NamespaceScanAsync()
    {
        using var cache = new SmartCache(Options.Create(new SmartCacheOptions { Configuration = Participants.RedisUrl, KeyPrefix = "nsscan" }));
        const int keys = 100_000;
        foreach (int[] chunk in Enumerable.Range(0, keys).Chunk(1000))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("bulk", i), i).AsTask()));
        }

        (long deleted, TimeSpan wall, string longest) = await WithSlowlogAsync(async () =>
            (await cache.InvalidateNamespaceAsync("bulk", new NamespaceInvalidationOptions { BatchSize = 1000 })).Deleted);
        return Row("InvalidateNamespaceAsync, 100,000 keys (batches of 1,000, no rate limit)", deleted, wall, longest);
    }

    private static string Row(string operation, long deleted, TimeSpan wall, string longest) =>
        string.Create(CultureInfo.InvariantCulture, $"| {operation} | {deleted:N0} | {wall.TotalMilliseconds:F0} | {deleted / wall.TotalSeconds:N0} | {longest} |");

    /// <summary>Runs <paramref name="work"/> with every command logged in SLOWLOG, and reports the longest one.</summary>
    private static async Task<(long Result, TimeSpan Wall, string Longest)> WithSlowlogAsync(Func<Task<long>> work)
    {
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(Participants.RedisUrl + ",allowAdmin=true");
        IServer server = admin.GetServer(admin.GetEndPoints()[0]);
        await server.ConfigSetAsync("slowlog-log-slower-than", 0);
        await server.ConfigSetAsync("slowlog-max-len", 1_000_000);
        await server.SlowlogResetAsync();
        var wall = Stopwatch.StartNew();
        long result = await work();
        wall.Stop();
        CommandTrace[] traces = await server.SlowlogGetAsync(1_000_000);
        await server.ConfigSetAsync("slowlog-log-slower-than", 10_000);
        // The measuring commands themselves (CONFIG, SLOWLOG) are not the work being measured.
        CommandTrace longest = traces
            .Where(t => t.Arguments.Length > 0 && t.Arguments[0].ToString() is not ("SLOWLOG" or "CONFIG" or "slowlog" or "config"))
            .MaxBy(t => t.Duration)!;
        string command = string.Join(' ', longest.Arguments.Take(1).Select(a => a.ToString()));
        return (result, wall.Elapsed, string.Create(CultureInfo.InvariantCulture, $"{longest.Duration.TotalMilliseconds:F2} ms ({command}; {traces.Length:N0} commands logged)"));
    }

    private sealed class Disposables(IEnumerable<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (IDisposable item in items)
            {
                item.Dispose();
            }
        }
    }
}
