using System.Globalization;
using System.Text;
using CacheInvalidation.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// What the continuous freshness sampler costs: a cache of 10,000 entries, the sampler registered with
/// <c>AddFreshnessVerification</c> and run by its hosted service for a fixed time at a given rate, while nothing else
/// touches Redis. Counted by the server (<c>INFO commandstats</c>) and by the source loader.
/// </summary>
public static class SamplerCostScenario
{
    private const int Entries = 10_000;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);

    public static async Task<string> RunAsync()
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"### Continuous freshness sampler: cost over {Duration.TotalSeconds:0} s, {Entries:N0} cached entries");
        report.AppendLine();
        report.AppendLine("| samples/s (setting) | samples taken (one source load each) | Redis commands/s (by command) | source loads/s | scans (SCAN calls) |");
        report.AppendLine("|---|---|---|---|---|");
        foreach (double rate in new[] { 1.0, 10.0 })
        {
            report.AppendLine(await MeasureAsync(rate));
        }

        report.AppendLine();
        report.AppendLine("Defaults besides the rate (a draw of 300 entries per pass, one SCAN of the tenant per pass with COUNT 1,000). Every sample reads the entry the way a caller does (one MGET of the entry and its versions) and loads its source once; a divergent one is read and loaded once more after the recheck delay (none here: nothing diverges). SCAN walks the node's whole keyspace (MATCH filters after): a pass costs keyspace / 1,000 calls, here 10,000 entries of this run plus those of the run before.");
        return report.ToString();
    }

    private static async Task<string> MeasureAsync(double samplesPerSecond)
    {
        string prefix = $"cost-{Guid.NewGuid():N}"[..13];
        long loads = 0;
        var services = new ServiceCollection();
        services.AddSmartCache(o => { o.Configuration = Participants.RedisUrl; o.KeyPrefix = prefix; o.LocalCache.Enabled = false; })
            .AddFreshnessVerification(o =>
            {
                o.Source<int>("product", (key, ct) =>
                {
                    Interlocked.Increment(ref loads);
                    return Task.FromResult(int.Parse(key.Id, CultureInfo.InvariantCulture));
                });
                o.SamplesPerSecond = samplesPerSecond;
            });
        await using ServiceProvider provider = services.BuildServiceProvider();
        ISmartCache cache = provider.GetRequiredService<ISmartCache>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Entries), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) =>
            await cache.GetOrSetAsync(CacheKey.Entity("product", id), _ => ValueTask.FromResult(id), cancellationToken: ct));

        using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(Participants.RedisUrl + ",allowAdmin=true");
        IServer server = admin.GetServers()[0];
        await server.ExecuteAsync("CONFIG", "RESETSTAT");
        Interlocked.Exchange(ref loads, 0);
        List<IHostedService> hosted = provider.GetServices<IHostedService>().ToList();
        foreach (IHostedService service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        await Task.Delay(Duration);
        foreach (IHostedService service in hosted)
        {
            await service.StopAsync(CancellationToken.None);
        }

        Dictionary<string, (long Calls, long Usec)> stats = await HitProbe.CommandStatsAsync(server);
        var commands = stats.Where(s => !s.Key.StartsWith("config", StringComparison.Ordinal) && s.Key != "info") // not the measuring commands
            .OrderByDescending(s => s.Value.Calls).ToList();
        long total = commands.Sum(c => c.Value.Calls);
        double seconds = Duration.TotalSeconds;
        string byCommand = string.Join(", ", commands.Select(c => FormattableString.Invariant($"{c.Key} {c.Value.Calls / seconds:0.##}")));
        long scans = stats.TryGetValue("scan", out (long Calls, long Usec) scan) ? scan.Calls : 0;
        return FormattableString.Invariant($"| {samplesPerSecond:0.#} | {Interlocked.Read(ref loads)} | {total / seconds:0.##} ({byCommand}) | {Interlocked.Read(ref loads) / seconds:0.##} | {scans} |");
    }
}
