using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// End to end through the real parts: a SQLite outbox, the relay and the consumer as hosted services, one Redis.
/// Throughput: events appended as fast as one writer commits them, until the last is applied. Lag: events offered at
/// a fixed rate, lag read from the library's own <c>cacheinvalidation.event.lag</c> histogram.
/// </summary>
public static class EventScenario
{
    public static async Task<string> RunAsync()
    {
        string throughput = await RunOnceAsync(events: 2000, ratePerSecond: null);
        string lag = await RunOnceAsync(events: 1000, ratePerSecond: 200);
        return "## Events: outbox → relay → Redis Stream → consumer\n\n" +
            "One writer commits each event in its own SQLite transaction (WAL journal); relay and consumer poll every 10 ms with batches of 100.\n\n" +
            "| run | events | wall time (s) | applied events/s | lag p50 (ms) | lag p99 (ms) | max (ms) |\n|---|---|---|---|---|---|---|\n" +
            throughput + "\n" + lag + "\n";
    }

    private static async Task<string> RunOnceAsync(int events, int? ratePerSecond)
    {
        string path = Path.Combine(Path.GetTempPath(), $"bench-outbox-{Guid.NewGuid():N}.db");
        var outbox = new InvalidationOutbox();
        SqliteConnection Open()
        {
            var c = new SqliteConnection($"Data Source={path}");
            c.Open();
            return c;
        }

        await using (SqliteConnection setup = Open())
        {
            await outbox.EnsureSchemaAsync(setup);
            await using var wal = setup.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode=WAL"; // the usual setting for a SQLite database with concurrent writers
            await wal.ExecuteNonQueryAsync();
        }

        var lags = new ConcurrentBag<double>();
        long applied = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CacheTelemetry.MeterName && instrument.Name is "cacheinvalidation.event.lag" or "cacheinvalidation.events")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => lags.Add(value * 1000)); // seconds → ms
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "cacheinvalidation.outcome" && (string?)tag.Value == "applied")
                {
                    Interlocked.Add(ref applied, value);
                }
            }
        });
        listener.Start();

        var services = new ServiceCollection();
        services.AddSmartCache(o => { o.Configuration = Participants.RedisUrl; o.KeyPrefix = "events-" + Guid.NewGuid().ToString("N")[..6]; })
            .AddOutboxRelay(o => { o.OpenConnection = _ => Task.FromResult<DbConnection>(Open()); o.PollInterval = TimeSpan.FromMilliseconds(10); })
            .AddInvalidationConsumer(o => { o.PollInterval = TimeSpan.FromMilliseconds(10); o.ConsumerName = "bench"; });
        await using ServiceProvider provider = services.BuildServiceProvider();
        IHostedService[] hosted = provider.GetServices<IHostedService>().ToArray();
        foreach (IHostedService service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        var wall = Stopwatch.StartNew();
        for (int i = 0; i < events; i++)
        {
            if (ratePerSecond is { } rate)
            {
                TimeSpan due = TimeSpan.FromSeconds((double)i / rate) - wall.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }
            }

            await using SqliteConnection connection = Open();
            await using DbTransaction transaction = await connection.BeginTransactionAsync();
            await outbox.AppendAsync(transaction, new InvalidationEvent { Type = "row.updated", Entity = $"row:{i % 100}", EntityVersion = i, Keys = [new EventKey("row", i.ToString(CultureInfo.InvariantCulture))] });
            await transaction.CommitAsync();
        }

        while (Interlocked.Read(ref applied) < events && wall.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(5);
        }

        wall.Stop();
        foreach (IHostedService service in hosted)
        {
            await service.StopAsync(CancellationToken.None);
        }

        SqliteConnection.ClearAllPools();
        File.Delete(path);
        double[] sorted = lags.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        string name = ratePerSecond is { } r ? $"offered at {r}/s" : "as fast as committed";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {Interlocked.Read(ref applied):N0} | {wall.Elapsed.TotalSeconds:F2} | {Interlocked.Read(ref applied) / wall.Elapsed.TotalSeconds:N0} | {Percentile(0.50):F1} | {Percentile(0.99):F1} | {sorted.LastOrDefault():F1} |");
    }
}
